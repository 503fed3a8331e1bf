// The page's strings: one JSON dictionary a language in ./i18n/ (every key in each), chosen
// from the `lang` attribute, else from navigator.languages, else English.

export const LANGUAGES = ["en", "fr"];

const loaded = new Map();

/** The first of `wanted` (BCP 47 tags, best first) this client speaks, else "en". */
export function pickLanguage(wanted) {
  for (const tag of wanted || []) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return "en";
}

/** The dictionary of `language` (fetched once beside this module). */
export async function dictionary(language) {
  if (!loaded.has(language)) {
    const url = new URL(`./i18n/${language}.json`, import.meta.url);
    loaded.set(
      language,
      fetch(url).then((response) => {
        if (!response.ok) throw new Error(`${url}: ${response.status}`);
        return response.json();
      }),
    );
  }
  return loaded.get(language);
}

/** `words[key]` with `{name}` placeholders filled from `values`; the key itself when missing. */
export function format(words, key, values = {}) {
  const text = words[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}
