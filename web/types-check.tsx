// An integrator's code against web/liveness-check.d.ts: make test compiles it with
// `tsc --strict --noEmit` (scripts/check-types.sh). The @ts-expect-error lines are uses the
// typings must refuse: they fail the check if the typings let them through.
import { mount, registerLanguage, ERROR_TYPES, type LivenessError, type LivenessResult } from "./liveness-check.js";

const element = mount(document.body, {
  server: "wss://liveness.example.com/lpproto",
  getSessionToken: async () => "client-token",
  onResult: (result: LivenessResult) => console.log(result.sessionId, result.isOk, result.errors.length),
  onError: (error: LivenessError) => {
    const type: "camera-denied" | "no-camera" | "server-unreachable" | "origin-refused" | "session-token-invalid" | "protocol" = error.type;
    console.log(type, error.code ?? "no code", error.message);
  },
  onCancel: (cancel) => console.log(cancel.sessionId),
  lang: "de",
  languages: { de: { "language.name": "Deutsch", "button.start": "Prüfung starten" } },
  displayText: { "intro.heading": "Verify that it is you" },
});

element.addEventListener("liveness-result", (event) => {
  const ok: boolean = event.detail.isOk;
  const age: "below" | "uncertain" | null = event.detail.ageDecision;
  console.log(ok, age);
});
element.addEventListener("liveness-error", (event) => {
  if (event.detail.type === "origin-refused") console.log(event.detail.code);
  // @ts-expect-error: an error is not a result
  console.log(event.detail.isOk);
});
element.addEventListener("liveness-cancel", (event) => console.log(event.detail.sessionId));
document.querySelector("liveness-check")?.addEventListener("liveness-error", (event) => console.log(event.detail.type));

// @ts-expect-error: not a kind of error
const wrong: LivenessError["type"] = "timeout";
console.log(wrong, ERROR_TYPES.length);

registerLanguage("es", { "language.name": "Español" });
// @ts-expect-error: strings are text
registerLanguage("it", { "language.name": 3 });

element.displayText = { "button.cancel": "Stop" };
void element.start();
element.cancel();

// JSX: the element and its attributes.
export const view = <liveness-check server="wss://liveness.example.com/lpproto" lang="fr" debug="" />;
// @ts-expect-error: not an attribute of the element
export const bad = <liveness-check servr="wss://x" />;
