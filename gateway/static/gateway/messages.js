// The Messages page: a logged-in user's APRS conversations (docs/messaging.md).
// One websocket (ws/messages/) brings the conversations, each thread, the state of
// every sent message and the messages that arrive; bulletins come from the news stream.
import { el, jsonData, localTime } from "./common.js";
import { ChatSocket, showState } from "./chatsocket.js";

const STATES = {
  queued: gettext("queued"),
  sent: gettext("sent"),
  acked: gettext("acked ✓"),
  rejected: gettext("rejected by the station"),
  failed: gettext("not acked: gave up"),
  no_route: gettext("not sent: no route to this station"),
};
const conversationList = document.getElementById("conversations");
const thread = document.getElementById("thread");
const title = document.getElementById("thread-title");
const errorBox = document.getElementById("messages-error");
const sendText = document.getElementById("send-text");
const sendButton = document.getElementById("send-button");
const sendLeft = document.getElementById("send-left");
const newStation = document.getElementById("new-station");
let station = "";
let maySend = false;
let conversations = [];

function setUnread(count) {
  const badge = document.getElementById("unread-count");
  if (!badge) return;
  badge.textContent = String(count);
  badge.hidden = !count;
}

function stateText(message) {
  const tries = message.state === "sent" && message.tries > 1
    ? ` (${interpolate(ngettext("%(n)s time", "%(n)s times", message.tries), { n: message.tries }, true)})` : "";
  return (STATES[message.state] || message.state) + tries;
}

function bubble(message) {
  const outgoing = message.direction === "out";
  return el("li", { class: `bubble ${outgoing ? "out" : "in"}`, id: `${message.direction}-${message.id}` },
    el("span", { class: "text", text: message.text }),
    el("small", { class: "meta" },
      el("time", { text: localTime(message.at) }),
      outgoing ? el("span", { class: "state", "data-state": message.state, text: ` · ${stateText(message)}` }) : null));
}

function showConversations(list) {
  conversations = list;
  conversationList.replaceChildren(...list.map((entry) => el("li", {},
    el("a", { href: `?to=${encodeURIComponent(entry.station)}`, class: "call", text: entry.station,
      "aria-current": entry.station === station ? "true" : null,
      onclick: (event) => { event.preventDefault(); open(entry.station); } }),
    entry.unread ? el("span", { class: "badge", text: ` ${entry.unread}` }) : null,
    el("div", { class: "muted", text: entry.incoming ? entry.last : interpolate(gettext("you: %(text)s"), { text: entry.last }, true) }))));
}

function open(call) {
  station = call.toUpperCase();
  title.textContent = station;
  thread.replaceChildren();
  socket.send({ type: "thread", station });
  const url = new URL(location.href);
  url.searchParams.set("to", station);
  history.replaceState(null, "", url);
  canSend();
}

function canSend() {
  const ready = maySend && Boolean(station);
  sendText.disabled = !ready;
  sendButton.disabled = !ready;
  sendText.placeholder = station
    ? interpolate(gettext("Message to %(call)s"), { call: station }, true) : gettext("Choose a conversation");
}

function notify(message) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  if (!document.hidden && message.from === station) return;
  const heading = interpolate(gettext("APRS message from %(call)s"), { call: message.from }, true);
  new Notification(heading, { body: message.text, tag: `aprs-${message.id}` });
}

function onFrame(frame) {
  switch (frame.type) {
    case "hello":
      maySend = frame.may_send;
      document.getElementById("may-send").textContent = frame.may_send
        ? interpolate(gettext("You write as %(call)s."), { call: frame.you }, true)
        : interpolate(gettext("You cannot send: %(reason)s."), { reason: frame.reason }, true);
      showConversations(frame.conversations);
      setUnread(frame.unread);
      if (station) open(station);
      canSend();
      break;
    case "conversations": showConversations(frame.conversations); setUnread(frame.unread); break;
    case "thread":
      if (frame.station !== station) break;
      thread.replaceChildren(...frame.messages.map(bubble));
      thread.lastChild?.scrollIntoView({ block: "end" });
      setUnread(frame.unread);
      socket.send({ type: "conversations" });
      break;
    case "outbox": {
      const message = { direction: "out", ...frame.message };
      const existing = document.getElementById(`out-${message.id}`);
      if (existing) existing.replaceWith(bubble(message));
      else if (message.to === station) thread.append(bubble(message));
      socket.send({ type: "conversations" });
      break;
    }
    case "inbox": {
      const message = { direction: "in", at: frame.message.received, ...frame.message };
      if (message.from === station) socket.send({ type: "thread", station });  // shown and marked read
      else socket.send({ type: "conversations" });
      notify(message);
      break;
    }
    case "stations":
      document.getElementById("station-list").replaceChildren(
        ...frame.stations.map((call) => el("option", { value: call })));
      break;
    case "error":
      errorBox.textContent = frame.reason;
      break;
    default:
      break;
  }
}

const socket = new ChatSocket("/ws/messages/", {
  onFrame,
  onState: (state, text) => showState(state, text, "messages-state"),
});

document.getElementById("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = sendText.value.trim();
  if (!text || !station) return;
  errorBox.textContent = "";
  if (socket.send({ type: "send", to: station, text })) {
    sendText.value = "";
    sendLeft.textContent = "67";
  }
});
sendText.addEventListener("input", () => { sendLeft.textContent = String(67 - sendText.value.length); });
document.getElementById("new-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (newStation.value.trim()) open(newStation.value.trim());
  newStation.value = "";
});
newStation.addEventListener("input", () => {
  if (newStation.value.length >= 2) socket.send({ type: "complete", prefix: newStation.value });
});
// Browsers only ask for permission after a user action: this button, never on load.
const notifyButton = document.getElementById("notify");
if (!("Notification" in window) || Notification.permission === "granted") notifyButton.hidden = true;
notifyButton.addEventListener("click", async () => {
  if ((await Notification.requestPermission()) === "granted") notifyButton.hidden = true;
});

const bulletins = new EventSource("/notifications/news/");
bulletins.addEventListener("bulletin", (event) => {
  const bulletin = JSON.parse(event.data);
  const list = document.getElementById("bulletins");
  list.prepend(el("li", {}, el("b", { class: "call", text: bulletin.from }), ` ${bulletin.to}: ${bulletin.text}`));
  while (list.children.length > 20) list.lastChild.remove();
});

const wanted = jsonData("messages-to");
if (wanted) station = wanted.toUpperCase();
canSend();
