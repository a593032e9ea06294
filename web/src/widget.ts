/**
 * The safeguarding guidance assistant's web chat widget: talks to Rasa's socket.io channel
 * (bot/credentials.yml: user_uttered / bot_uttered, session_persistence: true).
 *
 * Mount: an element with the attribute `data-sga-webchat`; the socket.io URL comes from
 * `window.SGA_CONFIG` (served as /config.js by actions/webchat.py) or the element's
 * `data-socket-url` attribute.
 */
import { io, Socket } from "socket.io-client";
import {
  ChatButton,
  ChatRecord,
  Entry,
  clearAll,
  loadHistory,
  loadSessionId,
  saveHistory,
  saveSessionId,
  toRecord,
} from "./history";
import { copyText, printRecord, recordAsText } from "./record";
import { renderBotText } from "./render";

interface Config {
  socketUrl: string;
  socketPath?: string;
}

interface BotUttered {
  text?: unknown;
  quick_replies?: unknown;
  buttons?: unknown;
  record?: unknown;
}

declare global {
  interface Window {
    SGA_CONFIG?: Partial<Config>;
  }
}

const NOTICE_STRONG = "Guidance from local procedures, not legal advice.";
const NOTICE_REST = " If a child is in immediate danger, call 999.";
const NO_REPLY_MS = 30000;
const MAX_CHARS = 1000;
const MAX_CHARS_SHOWN = MAX_CHARS.toLocaleString("en-GB");

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function toButtons(value: unknown): ChatButton[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((b): b is Record<string, unknown> => !!b && typeof b === "object")
    .map((b) => ({ title: String(b.title ?? b.payload ?? ""), payload: String(b.payload ?? b.title ?? "") }))
    .filter((b) => b.title && b.payload);
}

let instances = 0;

export class Webchat {
  private readonly log: HTMLDivElement;
  private readonly status: HTMLParagraphElement;
  private readonly input: HTMLInputElement;
  private readonly counter: HTMLSpanElement;
  private atLimit = false;
  private readonly socket: Socket;
  private history: Entry[];
  private sessionId: string | null;
  private ready = false;
  private queue: string[] = [];
  private noReplyTimer: number | undefined;

  constructor(root: HTMLElement, config: Config) {
    const n = ++instances;
    root.classList.add("sga");
    root.replaceChildren();

    const heading = el("h2", "sga-title", "Ask the safeguarding guidance assistant");
    heading.id = `sga-title-${n}`;
    const section = el("section", "sga-widget");
    section.setAttribute("aria-labelledby", heading.id);

    const restart = el("button", "sga-restart", "Start a new conversation");
    restart.type = "button";
    const head = el("div", "sga-head");
    head.append(heading, restart);

    const notice = el("p", "sga-notice");
    notice.setAttribute("role", "note");
    notice.append(el("strong", undefined, NOTICE_STRONG), document.createTextNode(NOTICE_REST));

    // The one scrolling area: the conversation. Everything else stays in view.
    this.log = el("div", "sga-log");
    this.log.id = `sga-log-${n}`;
    this.log.setAttribute("role", "log");
    this.log.setAttribute("aria-live", "polite");
    this.log.setAttribute("aria-relevant", "additions");
    this.log.setAttribute("aria-label", "Conversation with the assistant");
    this.log.tabIndex = 0; // scrollable region: reachable and scrollable by keyboard

    this.status = el("p", "sga-status");
    this.status.setAttribute("role", "status");

    const form = el("form", "sga-form");
    form.noValidate = true;
    const label = el("label", "sga-label", "Your message");
    this.input = el("input", "sga-input");
    this.input.id = `sga-input-${n}`;
    label.htmlFor = this.input.id;
    this.input.type = "text";
    this.input.name = "message";
    this.input.autocomplete = "off";
    this.input.maxLength = MAX_CHARS;
    // The length limit, said before it is reached (the counter) and when it is (the status).
    this.counter = el("span", "sga-counter");
    this.counter.id = `sga-counter-${n}`;
    const top = el("div", "sga-label-row");
    top.append(label, this.counter);
    const hint = el("p", "sga-hint", "Press Enter to send. Do not type names or details that identify a person.");
    hint.id = `sga-hint-${n}`;
    this.input.setAttribute("aria-describedby", `${hint.id} ${this.counter.id}`);
    const send = el("button", "sga-send", "Send");
    send.type = "submit";
    const row = el("div", "sga-row");
    row.append(this.input, send);
    form.append(top, row, hint);
    this.updateCounter(false);

    section.append(head, notice, this.log, this.status, form);
    root.append(section);

    this.input.addEventListener("input", () => this.updateCounter(true));
    this.input.addEventListener("paste", (event) => {
      const pasted = event.clipboardData?.getData("text") ?? "";
      const selected = (this.input.selectionEnd ?? 0) - (this.input.selectionStart ?? 0);
      if (this.input.value.length - selected + pasted.length > MAX_CHARS) {
        window.setTimeout(
          () =>
            this.setStatus(
              `The pasted text was cut to fit the ${MAX_CHARS_SHOWN}-character limit. ` +
                "Send this part, then the rest in another message.",
            ),
          0,
        );
      }
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.input.value.trim();
      if (!text) {
        this.setStatus("Type a message first.");
        return;
      }
      this.input.value = "";
      this.updateCounter(false);
      this.send(text, text);
    });
    restart.addEventListener("click", () => this.restart());

    // Restore what was shown before a reload.
    this.sessionId = loadSessionId();
    this.history = loadHistory();
    this.log.setAttribute("aria-busy", "true");
    const lastUser = this.history.map((e) => e.from).lastIndexOf("user");
    this.history.forEach((entry, i) => this.render(entry, i > lastUser));
    this.log.setAttribute("aria-busy", "false");
    this.scrollToEnd(false);

    this.setStatus("Connecting to the assistant…");
    this.socket = io(config.socketUrl, {
      path: config.socketPath || "/socket.io",
      transports: ["websocket", "polling"],
      tryAllTransports: true, // fall back to long-polling where a proxy blocks WebSockets
      reconnectionDelayMax: 10000,
    });
    this.socket.on("connect", () => {
      // On every (re)connection: join the conversation's room again.
      this.ready = false;
      this.socket.emit("session_request", { session_id: this.sessionId });
    });
    this.socket.on("session_confirm", (data: unknown) => {
      const id = typeof data === "string" ? data : (data as { session_id?: string } | null)?.session_id;
      if (!id) return;
      this.sessionId = id;
      saveSessionId(id);
      this.ready = true;
      this.setStatus("");
      for (const message of this.queue.splice(0)) this.emit(message);
    });
    this.socket.on("bot_uttered", (data: BotUttered) => this.receive(data));
    this.socket.on("disconnect", () => {
      this.ready = false;
      this.setStatus("Connection to the assistant lost. Reconnecting…");
    });
    this.socket.on("connect_error", () => {
      this.setStatus("Cannot reach the assistant. Retrying… If this continues, ask your IT service desk.");
    });
  }

  /** Send `payload` to the assistant and show `shown` as the user's message. */
  send(payload: string, shown: string): void {
    this.disableChoices();
    this.add({ from: "user", text: shown });
    if (this.ready) this.emit(payload);
    else this.queue.push(payload);
    this.input.focus();
  }

  private emit(message: string): void {
    this.socket.emit("user_uttered", { message, session_id: this.sessionId });
    this.setStatus("The assistant is replying…");
    window.clearTimeout(this.noReplyTimer);
    this.noReplyTimer = window.setTimeout(
      () => this.setStatus("No reply yet. The assistant may be busy: please wait, or try again."), NO_REPLY_MS);
  }

  private receive(data: BotUttered): void {
    window.clearTimeout(this.noReplyTimer);
    this.setStatus("");
    const text = typeof data?.text === "string" ? data.text : "";
    const buttons = toButtons(data?.quick_replies).concat(toButtons(data?.buttons));
    if (!text && !buttons.length) return;
    this.add({ from: "bot", text, buttons: buttons.length ? buttons : undefined, record: toRecord(data?.record) });
  }

  private add(entry: Entry): void {
    this.history.push(entry);
    saveHistory(this.history);
    const message = this.render(entry, true);
    this.scrollToNewest(message);
  }

  private render(entry: Entry, active: boolean): HTMLElement {
    const message = el("div", `sga-msg sga-msg-${entry.from}`);
    message.appendChild(el("span", "sga-visually-hidden", entry.from === "user" ? "You said: " : "Assistant said: "));
    if (entry.from === "bot") {
      const body = el("div", "sga-text");
      body.appendChild(renderBotText(entry.text));
      message.appendChild(body);
    } else {
      message.appendChild(el("p", "sga-text", entry.text));
    }
    if (entry.buttons?.length) {
      const group = el("div", "sga-choices");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Choices");
      for (const choice of entry.buttons) {
        const button = el("button", "sga-choice", choice.title);
        button.type = "button";
        button.disabled = !active;
        button.addEventListener("click", () => this.send(choice.payload, choice.title));
        group.appendChild(button);
      }
      message.appendChild(group);
    }
    if (entry.record) message.appendChild(this.recordControls(entry.record));
    this.log.appendChild(message);
    return message;
  }

  /** "Copy summary" and "Print" for a reply worth keeping; they stay usable as the chat moves on. */
  private recordControls(record: ChatRecord): HTMLElement {
    const what = record.kind === "debrief" ? "debrief" : "summary";
    const group = el("div", "sga-keep");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", `Keep a copy of this ${what}`);
    const copy = el("button", "sga-keep-button", `Copy ${what}`);
    copy.type = "button";
    copy.addEventListener("click", async () => {
      const copied = await copyText(recordAsText(record));
      this.setStatus(
        copied
          ? `The ${what} is copied. Paste it into the case file.`
          : `The ${what} could not be copied here. Use Print, or select the text and copy it.`,
      );
    });
    const print = el("button", "sga-keep-button", "Print");
    print.type = "button";
    print.setAttribute("aria-label", `Print this ${what}`);
    print.addEventListener("click", () => printRecord(record));
    group.append(copy, print);
    return group;
  }

  private updateCounter(announce: boolean): void {
    const used = this.input.value.length;
    this.counter.textContent =
      used === 0 ? `Up to ${MAX_CHARS_SHOWN} characters` : `${used.toLocaleString("en-GB")} of ${MAX_CHARS_SHOWN} characters`;
    const atLimit = used >= MAX_CHARS;
    this.counter.classList.toggle("sga-counter-full", atLimit);
    if (announce && atLimit && !this.atLimit) {
      this.setStatus(
        `You have reached the ${MAX_CHARS_SHOWN}-character limit. Send this part, then the rest in another message.`,
      );
    }
    this.atLimit = atLimit;
  }

  /** Earlier choices no longer apply once the conversation has moved on. */
  private disableChoices(): void {
    this.log.querySelectorAll<HTMLButtonElement>("button.sga-choice").forEach((b) => (b.disabled = true));
  }

  private restart(): void {
    clearAll();
    this.history = [];
    this.sessionId = null;
    this.queue = [];
    this.log.replaceChildren();
    this.ready = false;
    // A new connection, so this page no longer receives the old conversation's replies.
    this.socket.disconnect().connect();
    this.setStatus("New conversation started.");
    this.input.focus();
  }

  private setStatus(text: string): void {
    if (this.status.textContent !== text) this.status.textContent = text;
  }

  private scrollToEnd(animate: boolean): void {
    this.scrollTo(this.log.scrollHeight, animate);
  }

  /** The end of the conversation; but a reply taller than the box is shown from its start. */
  private scrollToNewest(message: HTMLElement): void {
    const fits = message.offsetHeight <= this.log.clientHeight - 16;
    if (fits || !message.classList.contains("sga-msg-bot")) this.scrollToEnd(true);
    else this.scrollTo(message.offsetTop - 8, true);
  }

  private scrollTo(top: number, animate: boolean): void {
    const reduce = window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;
    this.log.scrollTo({ top, behavior: animate && !reduce ? "smooth" : "auto" });
  }
}

function mountAll(): void {
  const config = window.SGA_CONFIG || {};
  document.querySelectorAll<HTMLElement>("[data-sga-webchat]").forEach((root) => {
    const socketUrl = root.dataset.socketUrl || config.socketUrl || `${location.protocol}//${location.hostname}:5005`;
    new Webchat(root, { socketUrl, socketPath: root.dataset.socketPath || config.socketPath });
  });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
else mountAll();
