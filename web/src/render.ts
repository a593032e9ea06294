/**
 * Turning bot text into DOM nodes. Bot text is never parsed as HTML: every piece of text goes in
 * through `textContent` / `createTextNode`, and the only elements made are paragraphs, list items,
 * a citation paragraph and links to http(s) URLs (opened in a new tab with rel="noopener noreferrer").
 */

const URL_PATTERN = /https?:\/\/[^\s<>"'`]+/g;
const TRAILING = /[.,;:!?'"]+$/;

/** Split a URL match from punctuation that ends the sentence around it, e.g. "(https://x/y; ...". */
function trimUrl(raw: string): [string, string] {
  let url = raw;
  let rest = "";
  for (;;) {
    const trailing = url.match(TRAILING);
    if (trailing) {
      rest = trailing[0] + rest;
      url = url.slice(0, -trailing[0].length);
      continue;
    }
    // A closing bracket belongs to the URL only when the URL opened one.
    if (url.endsWith(")") && (url.match(/\(/g) || []).length < (url.match(/\)/g) || []).length) {
      rest = ")" + rest;
      url = url.slice(0, -1);
      continue;
    }
    return [url, rest];
  }
}

function safeHref(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

/** Append `text` to `parent`, with http(s) URLs as links that open in a new tab. */
export function appendLinkified(parent: Node, text: string): void {
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const start = match.index ?? 0;
    const [url, rest] = trimUrl(match[0]);
    const href = safeHref(url);
    if (start > last) parent.appendChild(document.createTextNode(text.slice(last, start)));
    if (href) {
      const link = document.createElement("a");
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      link.textContent = url;
      const hint = document.createElement("span");
      hint.className = "sga-visually-hidden";
      hint.textContent = " (opens in a new tab)";
      link.appendChild(hint);
      parent.appendChild(link);
    } else {
      parent.appendChild(document.createTextNode(url));
    }
    if (rest) parent.appendChild(document.createTextNode(rest));
    last = start + match[0].length;
  }
  if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
}

const CITATION = /^(Source|Sources):\s*/;
const BULLET = /^\s*[-•*]\s+/;

/** Bot text (multi-line; "- " bullets; a "Source: ..." citation line) as a fragment. */
export function renderBotText(text: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  let list: HTMLUListElement | null = null;
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) {
      list = null;
      continue;
    }
    if (BULLET.test(line)) {
      if (!list) {
        list = document.createElement("ul");
        fragment.appendChild(list);
      }
      const item = document.createElement("li");
      appendLinkified(item, line.replace(BULLET, ""));
      list.appendChild(item);
      continue;
    }
    list = null;
    const citation = line.match(CITATION);
    const paragraph = document.createElement("p");
    if (citation) {
      paragraph.className = "sga-citation";
      const label = document.createElement("span");
      label.className = "sga-citation-label";
      label.textContent = citation[1] + ": ";
      paragraph.appendChild(label);
      appendLinkified(paragraph, line.slice(citation[0].length));
    } else {
      appendLinkified(paragraph, line);
    }
    fragment.appendChild(paragraph);
  }
  return fragment;
}
