// A chat room: history, live messages, presence, and for staff the
// moderation buttons. Messages not yet acknowledged are sent again, with the
// same id, after a reconnect: the server stores each id once.
import { el, jsonData, localTime } from "./common.js";
import { ChatSocket, showState } from "./chatsocket.js";

const room = jsonData("chat-room");
const staff = jsonData("chat-staff");
const list = document.getElementById("messages");
const presence = document.getElementById("presence");
const errorBox = document.getElementById("chat-error");
const input = document.getElementById("say");
const sendButton = document.getElementById("say-button");
const nickForm = document.getElementById("nick-form");
const pending = new Map(); // id -> text, until the server's ack
let counter = 0;
let admin = null;

function who(person) {
  return person.callsign && person.callsign !== person.name ? `${person.name} (${person.callsign})` : person.name;
}

const guest = (person) => (person.guest ? ` (${gettext("guest")})` : "");

function showError(frame) {
  errorBox.textContent = frame.until
    ? interpolate(gettext("%(reason)s (until %(time)s)"), { reason: frame.reason, time: localTime(frame.until) }, true)
    : frame.reason;
}

function messageRow(message) {
  const row = el("li", { class: message.announcement ? "announcement" : "", "data-id": message.id },
    el("time", { datetime: message.created, text: localTime(message.created) }), " ",
    el("b", { class: "name", text: who(message) + guest(message) }), " ",
    el("span", { class: "text", text: message.text }));
  if (staff) {
    row.append(" ", el("span", { class: "moderation" },
      el("button", { type: "button", text: gettext("Delete"),
                     "aria-label": interpolate(gettext("Delete message %(id)s"), { id: message.id }, true),
                     onclick: () => moderate({ type: "delete", id: message.id }) }),
      message.announcement ? null : el("button", {
        type: "button", text: gettext("Mute 10 min"),
        "aria-label": interpolate(gettext("Mute %(name)s for 10 minutes"), { name: message.name }, true),
        onclick: () => moderate({ type: "mute", user: message.guest ? `guest:${message.name}` : message.name, minutes: 10 }),
      })));
  }
  return row;
}

function addMessage(message) {
  if (list.querySelector(`li[data-id="${Number(message.id)}"]`)) return;
  list.append(messageRow(message));
  list.lastChild.scrollIntoView({ block: "nearest" });
}

function setPresence(people) {
  const names = new Map(people.map((person) => [person.name, person]));
  presence.replaceChildren(...[...names.values()].map((person) =>
    el("li", { "data-name": person.name, text: who(person) + guest(person) })));
}

function presenceEvent(frame) {
  const people = [...presence.children].map((node) => ({ name: node.dataset.name, label: node.textContent }));
  const others = people.filter((person) => person.name !== frame.who.name);
  if (frame.event === "join") others.push({ name: frame.who.name, label: who(frame.who) + guest(frame.who) });
  presence.replaceChildren(...others.map((person) => el("li", { "data-name": person.name, text: person.label })));
}

function canSpeak(joined) {
  const named = Boolean(joined.you?.name);
  input.disabled = sendButton.disabled = !named;
  nickForm.hidden = named || !joined.may_speak;
  document.getElementById("may-speak").textContent = named
    ? interpolate(gettext("You speak as %(name)s."), { name: who(joined.you) }, true)
    : joined.may_speak ? gettext("Choose a guest nick to speak, or log in.") : gettext("Log in to speak; anyone may read.");
}

function onFrame(frame) {
  switch (frame.type) {
    case "joined":
      list.replaceChildren(...frame.history.map(messageRow));
      setPresence(frame.presence);
      canSpeak(frame);
      for (const [id, text] of pending) socket.send({ type: "message", id, text });
      break;
    case "message": addMessage(frame.message); break;
    case "ack": pending.delete(frame.id); break;
    case "deleted": list.querySelector(`li[data-id="${Number(frame.id)}"]`)?.remove(); break;
    case "presence": presenceEvent(frame); break;
    case "nick": canSpeak({ you: frame.you, may_speak: true }); errorBox.textContent = ""; break;
    case "muted": showError({ reason: gettext("A moderator muted you"), until: frame.until }); break;
    case "error":
      if (frame.id && pending.has(frame.id)) {
        if (!input.value) input.value = pending.get(frame.id);
        pending.delete(frame.id);
      }
      showError(frame);
      break;
    default: break;
  }
}

const socket = new ChatSocket(room === "lobby" ? "/chat/" : `/chat/${encodeURIComponent(room)}/`,
                              { onFrame, onState: showState });

document.getElementById("say-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value;
  if (!text.trim()) return;
  counter += 1;
  const id = `c-${Date.now().toString(36)}-${counter}`;
  pending.set(id, text);
  errorBox.textContent = "";
  socket.send({ type: "message", id, text });
  input.value = "";
});

nickForm.addEventListener("submit", (event) => {
  event.preventDefault();
  socket.send({ type: "nick", nick: document.getElementById("nick").value });
});

// Staff: moderation goes through the admin socket, opened on first use;
// commands given while it connects wait in adminQueue.
const adminQueue = [];

function flushAdmin() {
  while (adminQueue.length && admin.send(adminQueue[0])) adminQueue.shift();
}

function moderate(frame) {
  admin ??= new ChatSocket("/chat/admin/", {
    onOpen: flushAdmin,
    onFrame: (reply) => {
      if (reply.type === "error") showError(reply);
      else if (reply.type === "done") errorBox.textContent = interpolate(gettext("done: %(action)s"), { action: reply.action }, true);
    },
  });
  adminQueue.push(frame);
  flushAdmin();
}
