// A chat or messages websocket (docs/chat.md, docs/messaging.md) that reconnects with
// backoff and shows its state; close codes that mean "do not come back" (banned, no
// such room, not logged in) stop it.
import { Backoff, socketUrl } from "./common.js";

const FINAL_CLOSES = {
  4003: gettext("banned"), 4401: gettext("log in first"), 4404: gettext("no such room"),
  1008: gettext("closed after too many refused frames"),
};

export class ChatSocket {
  // handlers: onFrame(frame), onOpen(), onState(state, text): state is connecting, connected,
  // disconnected (retrying) or closed (for good), text says it in the page's language
  constructor(path, handlers) {
    this.path = path;
    this.handlers = handlers;
    this.backoff = new Backoff();
    this.connect();
  }

  connect() {
    this.handlers.onState?.("connecting", gettext("connecting"));
    this.socket = new WebSocket(socketUrl(this.path));
    this.socket.onopen = () => {
      this.backoff.reset();
      this.handlers.onState?.("connected", gettext("connected"));
      this.handlers.onOpen?.();
    };
    this.socket.onmessage = (event) => this.handlers.onFrame(JSON.parse(event.data));
    this.socket.onclose = (event) => {
      const final = FINAL_CLOSES[event.code];
      if (final) {
        this.handlers.onState?.("closed", interpolate(gettext("closed: %(reason)s"), { reason: final }, true));
        return;
      }
      const delay = this.backoff.next();
      const text = interpolate(gettext("disconnected, retrying in %(s)s s"), { s: Math.ceil(delay / 1000) }, true);
      this.handlers.onState?.("disconnected", text);
      setTimeout(() => this.connect(), delay);
    };
  }

  send(frame) {
    if (this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }
}

export function showState(state, text, id = "chat-state") {
  const node = document.getElementById(id);
  node.textContent = text;
  node.dataset.state = state;
}
