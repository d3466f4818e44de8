// The moderation page (staff only): announcements, mute/ban, who is online.
import { el, localTime } from "./common.js";
import { ChatSocket, showState } from "./chatsocket.js";

const log = document.getElementById("admin-log");
const errorBox = document.getElementById("chat-error");

function note(text) {
  log.prepend(el("li", {}, el("time", { text: localTime(Date.now() / 1000) }), " ", el("span", { text })));
}

function onFrame(frame) {
  if (frame.type === "error") {
    errorBox.textContent = frame.reason;
    note(interpolate(gettext("refused: %(reason)s"), { reason: frame.reason }, true));
  } else if (frame.type === "done") {
    errorBox.textContent = "";
    if (frame.action === "online") {
      document.getElementById("online-list").replaceChildren(...frame.online.map((person) =>
        el("li", { text: interpolate(person.guest ? gettext("%(name)s in %(room)s, guest") : gettext("%(name)s in %(room)s"), {
          name: person.callsign ? `${person.name} (${person.callsign})` : person.name, room: person.room,
        }, true) })));
    }
    note(interpolate(gettext("done: %(action)s %(target)s"), {
      action: frame.action, target: frame.user ?? frame.id ?? frame.message_id ?? "",
    }, true));
  } else if (frame.type === "admin") {
    note(interpolate(gettext("moderating as %(name)s; rooms: %(rooms)s"), { name: frame.you, rooms: frame.rooms.join(", ") }, true));
  }
}

const socket = new ChatSocket("/chat/admin/", { onFrame, onState: showState });

document.getElementById("announce-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = document.getElementById("announce-text");
  socket.send({ type: "announce", room: document.getElementById("announce-room").value, text: text.value });
  text.value = "";
});

document.getElementById("user-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const action = event.submitter?.value || "mute";
  const frame = { type: action, user: document.getElementById("user-name").value.trim() };
  if (action === "mute") frame.minutes = Number(document.getElementById("user-minutes").value);
  socket.send(frame);
});

document.getElementById("online").addEventListener("click", () => socket.send({ type: "online" }));
