/**
 * Keeping a record of a checklist summary, a saved reference or a training debrief: copy it as plain
 * text, or print it on its own (a print sheet and the print stylesheet in widget.css; no PDF service,
 * nothing leaves the browser).
 */
import type { ChatRecord } from "./history";
import { renderBotText } from "./render";

const SOURCE = "Safeguarding guidance assistant";
const NOT_ADVICE = "Guidance from local procedures, not legal advice.";

function when(): string {
  return new Date().toLocaleString("en-GB", { dateStyle: "long", timeStyle: "short" });
}

/** The record as plain text for a case file, with where and when it came from. */
export function recordAsText(record: ChatRecord): string {
  const title = record.title ? `${record.title}\n\n` : "";
  return `${title}${record.text.trim()}\n\n(${SOURCE}, ${when()}. ${NOT_ADVICE})\n`;
}

/** Copy `text` to the clipboard: the Clipboard API where the page may use it (https or localhost),
 * otherwise a hidden text area and the copy command (plain http on an intranet). */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (window.isSecureContext && navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* refused (permissions, focus): try the older way */
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "sga-visually-hidden";
  const focused = document.activeElement as HTMLElement | null;
  document.body.appendChild(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch {
    copied = false;
  }
  area.remove();
  focused?.focus();
  return copied;
}

/** Print `record` alone: a print sheet replaces the page in print (html.sga-printing). */
export function printRecord(record: ChatRecord): void {
  document.querySelectorAll(".sga-print-sheet").forEach((old) => old.remove());
  const sheet = document.createElement("div");
  sheet.className = "sga sga-print-sheet";
  const heading = document.createElement("h1");
  heading.textContent = record.title || "Record";
  const from = document.createElement("p");
  from.className = "sga-print-from";
  from.textContent = `${SOURCE}, printed ${when()}. ${NOT_ADVICE} If a child is in immediate danger, call 999.`;
  const body = document.createElement("div");
  body.className = "sga-print-body";
  body.appendChild(renderBotText(record.text));
  sheet.append(heading, from, body);
  document.body.appendChild(sheet);

  const root = document.documentElement;
  root.classList.add("sga-printing");
  const done = () => {
    root.classList.remove("sga-printing");
    window.removeEventListener("afterprint", done);
  };
  window.addEventListener("afterprint", done);
  window.print();
}
