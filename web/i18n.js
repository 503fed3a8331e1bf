// The element's strings: the bundled dictionaries (strings.js) and any the integrator adds,
// chosen from the `lang` attribute, else from navigator.languages, else English. A key a
// dictionary lacks falls back to English, so no label is ever blank.

import { STRINGS } from "./strings.js";

const dictionaries = new Map(Object.entries(STRINGS));

/** The languages the element speaks: the bundled ones and those registered. */
export function languages() {
  return [...dictionaries.keys()];
}

/**
 * Adds a language (or replaces strings of one) without editing the package: `words` maps the
 * keys of strings.js's English dictionary to this language's text, and must name the language
 * itself under "language.name". Keys it leaves out fall back to English.
 */
export function registerLanguage(code, words) {
  const tag = String(code).toLowerCase();
  if (!/^[a-z]{2,3}(-[a-z0-9]{2,8})*$/.test(tag)) throw new TypeError(`not a language tag: ${code}`);
  if (!words || typeof words !== "object") throw new TypeError("registerLanguage(code, words): words is an object");
  dictionaries.set(tag, { ...(dictionaries.get(tag) || {}), ...words });
}

/** The first of `wanted` (BCP 47 tags, best first) this element speaks, else "en". */
export function pickLanguage(wanted) {
  for (const tag of wanted || []) {
    const full = String(tag).toLowerCase();
    if (dictionaries.has(full)) return full;
    const base = full.split("-")[0];
    if (dictionaries.has(base)) return base;
  }
  return "en";
}

/** The dictionary of `language` over English, with `overrides` (displayText) on top. */
export function dictionary(language, overrides = {}) {
  return { ...STRINGS.en, ...(dictionaries.get(language) || {}), ...overrides };
}

/** `words[key]` with `{name}` placeholders filled from `values`; the key itself when missing. */
export function format(words, key, values = {}) {
  const text = words[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}
