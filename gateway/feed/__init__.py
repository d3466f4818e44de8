"""The live feed: the per-node hub that fans packets out to websocket and stream clients."""
