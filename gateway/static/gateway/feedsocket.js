// The live feed websocket (ws/aprs/, docs/feed.md): subscribe with a filter,
// reconnect with backoff, and subscribe again after every reconnect.
import { Backoff, socketUrl } from "./common.js";

export class FeedSocket {
  // handlers: onPackets(items, dropped), onState(state), onError(reason, frame), onSubscribed(filter, errors, at)
  constructor(handlers) {
    this.handlers = handlers;
    this.filter = null;
    this.recent = 0;
    this.backoff = new Backoff();
    this.connect();
  }

  subscribe(filter, recent = 0) {
    this.filter = filter;
    this.recent = recent;
    this.sendSubscription();
  }

  sendSubscription() {
    if (this.filter !== null && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type: "subscribe", filter: this.filter, recent: this.recent }));
    }
  }

  connect() {
    this.state(gettext("connecting"));
    this.socket = new WebSocket(socketUrl("/ws/aprs/"));
    this.socket.onopen = () => {
      this.backoff.reset();
      this.state(gettext("live"));
      this.sendSubscription();
    };
    this.socket.onmessage = (event) => this.receive(JSON.parse(event.data));
    this.socket.onclose = () => {
      const delay = this.backoff.next();
      this.state(interpolate(gettext("reconnecting in %(s)s s"), { s: Math.ceil(delay / 1000) }, true));
      setTimeout(() => this.connect(), delay);
    };
  }

  receive(frame) {
    if (frame.type === "packets") this.handlers.onPackets?.(frame.packets, frame.dropped);
    else if (frame.type === "subscribed") this.handlers.onSubscribed?.(frame.filter, frame.errors || [], frame.at);
    else if (frame.type === "error") this.handlers.onError?.(frame.reason, frame);
  }

  state(value) {
    this.handlers.onState?.(value);
  }
}
