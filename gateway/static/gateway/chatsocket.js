// A chat or messages websocket (docs/chat.md, docs/messaging.md) that reconnects with
// backoff and shows its state; close codes that mean "do not come back" (banned, no
// such room, not logged in) stop it.
import { Backoff, socketUrl } from "./common.js";

const FINAL_CLOSES = {
  4003: "banned", 4401: "log in first", 4404: "no such room", 1008: "closed after too many refused frames",
};

export class ChatSocket {
  // handlers: onFrame(frame), onOpen(), onState(state, final)
  constructor(path, handlers) {
    this.path = path;
    this.handlers = handlers;
    this.backoff = new Backoff();
    this.connect();
  }

  connect() {
    this.handlers.onState?.("connecting");
    this.socket = new WebSocket(socketUrl(this.path));
    this.socket.onopen = () => {
      this.backoff.reset();
      this.handlers.onState?.("connected");
      this.handlers.onOpen?.();
    };
    this.socket.onmessage = (event) => this.handlers.onFrame(JSON.parse(event.data));
    this.socket.onclose = (event) => {
      const final = FINAL_CLOSES[event.code];
      if (final) {
        this.handlers.onState?.(`closed: ${final}`, true);
        return;
      }
      const delay = this.backoff.next();
      this.handlers.onState?.(`disconnected, retrying in ${Math.ceil(delay / 1000)} s`);
      setTimeout(() => this.connect(), delay);
    };
  }

  send(frame) {
    if (this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }
}

export function showState(state, final, id = "chat-state") {
  const node = document.getElementById(id);
  node.textContent = state;
  node.dataset.state = final ? "closed" : state.split(/[ ,]/)[0];
}
