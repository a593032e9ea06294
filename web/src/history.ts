/**
 * What the page remembers across a reload: the Rasa session id and the messages shown. Kept in
 * sessionStorage (this tab only, gone when the tab closes), because conversations about children
 * are sensitive and intranet machines are often shared. Rasa keeps the conversation itself under
 * the same session id, so the assistant carries on where it left off.
 */

export interface ChatButton {
  title: string;
  payload: string;
}

/** A reply the user may keep (a checklist summary, the saved reference, a training debrief). */
export interface ChatRecord {
  kind: "summary" | "saved" | "debrief";
  title: string;
  text: string;
}

export interface Entry {
  from: "user" | "bot";
  text: string;
  buttons?: ChatButton[];
  record?: ChatRecord;
}

export function toRecord(value: unknown): ChatRecord | undefined {
  if (!value || typeof value !== "object") return undefined;
  const record = value as Record<string, unknown>;
  const kind = record.kind;
  if ((kind !== "summary" && kind !== "saved" && kind !== "debrief") || typeof record.text !== "string") return undefined;
  return { kind, title: typeof record.title === "string" ? record.title : "", text: record.text };
}

const SESSION_KEY = "sga.webchat.session";
const HISTORY_KEY = "sga.webchat.history";
const MAX_ENTRIES = 300;

function storage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null; // storage disabled: the chat still works, it just does not survive a reload
  }
}

export function loadSessionId(): string | null {
  return storage()?.getItem(SESSION_KEY) || null;
}

export function saveSessionId(id: string): void {
  try {
    storage()?.setItem(SESSION_KEY, id);
  } catch {
    /* quota or privacy mode: ignore */
  }
}

function isEntry(value: unknown): value is Entry {
  if (!value || typeof value !== "object") return false;
  const entry = value as Record<string, unknown>;
  return (entry.from === "user" || entry.from === "bot") && typeof entry.text === "string";
}

export function loadHistory(): Entry[] {
  try {
    const parsed: unknown = JSON.parse(storage()?.getItem(HISTORY_KEY) || "[]");
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(isEntry).map((entry) => ({ ...entry, record: toRecord(entry.record) }));
  } catch {
    return [];
  }
}

export function saveHistory(entries: Entry[]): void {
  try {
    storage()?.setItem(HISTORY_KEY, JSON.stringify(entries.slice(-MAX_ENTRIES)));
  } catch {
    /* ignore */
  }
}

export function clearAll(): void {
  storage()?.removeItem(SESSION_KEY);
  storage()?.removeItem(HISTORY_KEY);
}
