// <liveness-check>: the guided capture of gst-liveness as a custom element (light DOM, styled
// by liveness-check.css). An instruction screen with camera, selfie view and language
// choices; the camera in an oval guide with live feedback; a countdown; the server's prompts
// with a direction cue outside the face area, progress per challenge and a cancel button;
// an outcome people can read, a retry path, and the result handed to the integrator:
//
//   <liveness-check server="wss://liveness.example.com/lpproto" session-token="..."></liveness-check>
//   element.addEventListener("liveness-result", (event) => event.detail);  // {sessionId, isOk, errors, ageDecision}
//   element.addEventListener("liveness-error", (event) => event.detail);   // {type, code, message}
//   element.addEventListener("liveness-cancel", (event) => event.detail);  // {sessionId}
//   element.getSessionToken = async () => (await fetch("/my-backend/liveness-session")).text();
//
// or `mount(container, {server, sessionToken, getSessionToken, onResult, onError, onCancel,
// lang, languages, displayText, debug, autostart})`. `result` is fired with `liveness-result`
// for integrations written before it. The module can be imported where there is no DOM
// (server-side rendering): the element is defined once a browser loads it.
// The verdict token is never shown (the relying party's backend fetches it with
// GET /v1/sessions/{id}/result) unless the `debug` attribute is set.
// For automation the element mirrors its state in data-state (intro, camera, countdown,
// connecting, running, result) and data-outcome (success, failure, cancelled), and lists
// the cues it gave (beep and text) in `element.cues`.

import { LPClient, errorCodes } from "./lpclient.js";
import { dictionary, format, languages, pickLanguage, registerLanguage } from "./i18n.js";

export { registerLanguage };

const ICONS = {
  turn_left: "\u2190",
  turn_right: "\u2192",
  look_up: "\u2191",
  look_down: "\u2193",
  nod_yes: "\u2195",
  shake_no: "\u2194",
  blink: "\u25C9",
  open_mouth: "O",
  smile: "\u263A",
  move_closer: "\u2922",
  flash: "\u2600",
};

/** Actions after which trying again cannot help: the person is told where to go instead. */
const FINAL_ACTIONS = ["action.contact", "action.ageBelow", "action.ageDocument", "action.siteOwner"];

/** The age check's decision of a check whose liveness part passed (its only codes are the
 * age check's): 14 below, 15 uncertain; null otherwise. */
function ageDecision(codes) {
  if (!codes.length || !codes.every((code) => code === 14 || code === 15)) return null;
  return codes.includes(14) ? "below" : "uncertain";
}

// What to do after each code; codes not listed: retry below 1000, reload from 1000.
const ACTIONS = {
  1: "action.face",
  2: "action.alone",
  3: "action.face",
  4: "action.face",
  5: "action.still",
  6: "action.light",
  7: "action.light",
  8: "action.light",
  9: "action.light",
  12: "action.follow",
  13: "action.follow",
  14: "action.ageBelow",
  15: "action.ageDocument",
  18: "action.face",
  20: "action.follow",
  21: "action.flash",
  22: "action.realCamera",
  23: "action.realCamera",
  24: "action.realCamera",
  25: "action.realCamera",
  1000: "action.retry",
  1013: "action.retry",
  1015: "action.wait",
  1016: "action.contact",
  1023: "action.busy",
  1028: "action.busy",
  1029: "action.busy",
  1031: "action.busy",
  1032: "action.newSession",
  1033: "action.newSession",
  1036: "action.realCamera",
  1037: "action.busy",
  1038: "action.retry",
  1039: "action.newSession",
};

// Feedback while the face is placed: frame-check codes, then lvchallenge's hints.
const LIVE_CODES = { 1: "guide.fit", 2: "code.2", 3: "guide.far", 4: "guide.centre", 5: "guide.still", 6: "guide.light", 7: "guide.light", 8: "guide.light", 9: "guide.light" };
// While calibrating the server's hint leads: it names the first blocker (no face, several faces,
// too small, too large, off-centre, dark, blurred, off-axis, moving), the same rule as its STATS.
const HINTS = { "show-face": "guide.fit", "one-face": "code.2", "face-camera": "guide.face", "move-closer": "guide.far", "move-back": "guide.close", "centre-face": "guide.centre", "more-light": "guide.light", "hold-still": "guide.still" };
// The oval as the server reads it (src/session.rs): a session starts once the face box is a
// quarter of the frame's shorter side at least (the oval is 45 % of a 4:3 frame's height), at
// most 85 %, its centre within a fifth of the frame's width and height of the centre.
const FIT = { minShare: 0.25, maxShare: 0.85, maxOffset: 0.2 };
// The server's hints that are about where the face sits in the oval.
const PLACEMENT_HINTS = ["move-closer", "move-back", "centre-face"];
// A face still blurred (code 5) after this long is more likely a smeared lens or a dim room
// than a moving head.
const LENS_AFTER_MS = 4000;

const TEMPLATE = `
<div class="lv">
  <section class="lv-intro" data-screen="intro" aria-labelledby="lv-intro-title">
    <h2 id="lv-intro-title" data-i18n="intro.heading"></h2>
    <p data-i18n="intro.what"></p>
    <ul>
      <li data-i18n="intro.light"></li>
      <li data-i18n="intro.glasses"></li>
      <li data-i18n="intro.alone"></li>
      <li data-i18n="intro.flash"></li>
    </ul>
    <div class="lv-options">
      <label><span data-i18n="options.camera"></span> <select class="lv-camera"></select></label>
      <label class="lv-check"><input type="checkbox" class="lv-mirror" checked> <span data-i18n="options.mirror"></span></label>
      <label><span data-i18n="options.language"></span> <select class="lv-lang"></select></label>
    </div>
    <button type="button" class="lv-start lv-primary" data-i18n="button.start"></button>
    <p class="lv-privacy" data-i18n="intro.privacy"></p>
  </section>
  <section class="lv-capture" data-screen="capture" hidden>
    <div class="lv-flash" aria-hidden="true"></div>
    <div class="lv-top">
      <p class="lv-prompt lv-chip" aria-live="assertive"><span class="lv-icon" hidden></span><span class="lv-prompt-text"></span></p>
    </div>
    <div class="lv-view">
      <div class="lv-stage">
        <video playsinline muted></video>
        <div class="lv-mask" aria-hidden="true"></div>
        <div class="lv-oval" data-fit="unknown" aria-hidden="true"></div>
      </div>
    </div>
    <div class="lv-bottom">
      <div class="lv-progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0"><div class="lv-fill"></div></div>
      <p class="lv-meta lv-chip"><span class="lv-step"></span><span class="lv-time"></span></p>
      <p class="lv-status lv-chip" role="status" aria-live="polite"></p>
      <p class="lv-cue lv-chip" aria-live="polite"></p>
      <p class="lv-legend lv-chip" data-i18n="guide.legend"></p>
      <button type="button" class="lv-cancel" data-i18n="button.cancel"></button>
    </div>
    <p class="lv-rotate lv-chip" data-i18n="layout.rotate"></p>
  </section>
  <section class="lv-result" data-screen="result" hidden>
    <h2 class="lv-result-title" tabindex="-1"></h2>
    <p class="lv-result-text"></p>
    <p class="lv-result-action"></p>
    <button type="button" class="lv-retry lv-primary" data-i18n="button.retry"></button>
    <details class="lv-debug" hidden><summary data-i18n="result.debug"></summary><textarea readonly rows="5"></textarea></details>
  </section>
</div>`;

/** The kinds of `liveness-error`: what stopped the check before it could give a verdict. */
export const ERROR_TYPES = ["camera-denied", "no-camera", "server-unreachable", "origin-refused", "session-token-invalid", "protocol"];

// Where there is no DOM (server-side rendering) the class still exists, to be defined later.
const Base = typeof HTMLElement === "undefined" ? class {} : HTMLElement;

/** The kind of a camera failure from getUserMedia's error. */
function cameraError(err) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return "camera-denied";
  return "no-camera";
}

/** Why a socket that never opened did not: the server is down, or refuses this page's origin
 * (the upgrade's 403 is not readable from script; the server's static files answer a refused
 * origin without CORS headers and an allowed one with them). */
async function unopenedSocket(server) {
  let base;
  try {
    const url = new URL(server);
    url.protocol = url.protocol === "wss:" ? "https:" : "http:";
    base = url.origin;
  } catch (err) {
    return "protocol";
  }
  try {
    await fetch(`${base}/health`, { mode: "no-cors", cache: "no-store" });
  } catch (err) {
    return "server-unreachable";
  }
  try {
    await fetch(`${base}/static/liveness-check.css`, { mode: "cors", cache: "no-store" });
    return "protocol";
  } catch (err) {
    return "origin-refused";
  }
}

export class LivenessCheck extends Base {
  static get observedAttributes() {
    return ["lang"];
  }

  constructor() {
    super();
    this.cues = [];
    this.getSessionToken = null;
    this.words = {};
    this.overrides = {};
    this.view = {}; // what is on screen, as keys and values, re-rendered on a language change
  }

  /** Strings of the integrator's own, by key (see strings.js), over every language's. */
  get displayText() {
    return { ...this.overrides };
  }

  set displayText(texts) {
    this.overrides = { ...(texts || {}) };
    if (this.parts) this.language(this.code || "en");
  }

  connectedCallback() {
    if (this.querySelector(".lv")) return;
    this.innerHTML = TEMPLATE;
    this.dataset.state = "intro";
    const $ = (selector) => this.querySelector(selector);
    this.parts = {
      video: $("video"), oval: $(".lv-oval"), icon: $(".lv-icon"), prompt: $(".lv-prompt-text"),
      progress: $(".lv-progress"), fill: $(".lv-fill"), step: $(".lv-step"), time: $(".lv-time"),
      status: $(".lv-status"), cue: $(".lv-cue"), camera: $(".lv-camera"), mirror: $(".lv-mirror"),
      lang: $(".lv-lang"), title: $(".lv-result-title"), text: $(".lv-result-text"),
      action: $(".lv-result-action"), retry: $(".lv-retry"), debug: $(".lv-debug"),
    };
    // The client token is kept out of the DOM once read.
    this.sessionToken = this.getAttribute("session-token") || undefined;
    this.removeAttribute("session-token");
    $(".lv-start").addEventListener("click", () => this.start());
    $(".lv-cancel").addEventListener("click", () => this.cancel());
    this.parts.retry.addEventListener("click", () => this.start());
    this.parts.lang.addEventListener("change", () => this.setAttribute("lang", this.parts.lang.value));
    this.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.session) this.cancel();
    });
    const wanted = this.getAttribute("lang") ? [this.getAttribute("lang")] : navigator.languages;
    this.language(pickLanguage(wanted));
    this.listCameras();
  }

  attributeChangedCallback(name, _, value) {
    if (name === "lang" && this.parts) this.language(pickLanguage([value]));
  }

  /** Applies a language: every string of the element changes. */
  language(code) {
    this.words = dictionary(code, this.overrides);
    this.code = code;
    const select = this.parts.lang;
    if (select.options.length !== languages().length) {
      select.replaceChildren();
      for (const language of languages()) {
        select.add(new Option(dictionary(language)["language.name"], language, false, false));
        select.options[select.options.length - 1].lang = language;
      }
    }
    select.value = code;
    for (const element of this.querySelectorAll("[data-i18n]")) element.textContent = this.t(element.dataset.i18n);
    this.parts.progress.setAttribute("aria-label", this.t("progress.label"));
    this.querySelector(".lv").lang = code;
    this.listCameras();
    this.render();
  }

  t(key, values) {
    return format(this.words, key, values);
  }

  /** The camera picker: labels once the camera was allowed, numbers before. */
  async listCameras() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput");
    const select = this.parts.camera;
    const chosen = select.value;
    select.replaceChildren(new Option(this.t("options.cameraDefault"), ""));
    devices.forEach((device, index) => {
      if (device.deviceId) select.add(new Option(device.label || this.t("options.cameraNumber", { n: index + 1 }), device.deviceId));
    });
    select.value = chosen;
  }

  /** Shows one screen and records the state. */
  screen(state) {
    this.dataset.state = state;
    const screen = state === "intro" ? "intro" : state === "result" ? "result" : "capture";
    for (const section of this.querySelectorAll("[data-screen]")) section.hidden = section.dataset.screen !== screen;
  }

  /** Writes what `this.view` holds in the current language. */
  render() {
    const v = this.view;
    const p = this.parts;
    p.prompt.textContent = v.prompt ? this.t(v.prompt, v.promptValues) : "";
    // The direction cue is an image with a name while shown, and out of the tree when not.
    p.icon.textContent = v.icon ? ICONS[v.icon] : "";
    if (v.icon) {
      p.icon.setAttribute("role", "img");
      p.icon.setAttribute("aria-label", this.t(`icon.${v.icon}`));
    } else {
      p.icon.removeAttribute("role");
      p.icon.removeAttribute("aria-label");
    }
    p.icon.hidden = !v.icon;
    p.step.textContent = v.step ? this.t("step", v.step) : "";
    p.time.textContent = v.seconds != null ? this.t("timeLeft", { s: v.seconds }) : "";
    p.status.textContent = [v.retry ? this.retryWords(v.retry) : "", v.status ? this.t(v.status) : ""].filter(Boolean).join(" ");
    p.cue.textContent = v.cue ? `\u2714 ${this.t(v.cue)}` : "";
    p.progress.setAttribute("aria-valuetext", v.step ? this.t("step", v.step) : "");
    if (v.result) {
      p.title.textContent = this.t(v.result.title);
      p.text.textContent = v.result.sentences.map((key) => this.t(key)).join(" ");
      p.action.textContent = v.result.action ? this.t(v.result.action, v.result.values) : "";
    }
  }

  show(changes) {
    Object.assign(this.view, changes);
    this.render();
  }

  cue(kind, frequency) {
    this.cues.push({ kind, frequency });
    this.show({ cue: kind === "seen" ? "cue.seen" : "cue.done" });
    clearTimeout(this.cueTimer);
    this.cueTimer = setTimeout(() => this.show({ cue: null }), 1500);
    try {
      this.audio = this.audio || new AudioContext();
      const oscillator = this.audio.createOscillator();
      const gain = this.audio.createGain();
      oscillator.frequency.value = frequency;
      gain.gain.value = 0.2;
      oscillator.connect(gain).connect(this.audio.destination);
      oscillator.start();
      oscillator.stop(this.audio.currentTime + 0.1); // seed 002: 100 ms
    } catch (err) {
      // No audio output: the text cue stands alone.
    }
  }

  /** Camera, countdown, CONNECT, frames until the verdict. */
  async start() {
    this.stop();
    const session = { finished: false };
    this.session = session;
    this.view = {};
    this.cues.length = 0;
    delete this.dataset.outcome;
    this.screen("camera");
    this.show({ status: "state.camera" });
    // The keyboard lands on Cancel (Escape cancels too).
    this.querySelector(".lv-cancel").focus();
    const mirrored = this.parts.mirror.checked;
    this.parts.video.classList.toggle("lv-mirrored", mirrored);
    const deviceId = this.parts.camera.value;
    try {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new DOMException("no camera API", "NotFoundError");
      const video = { width: { ideal: 640 }, height: { ideal: 480 }, ...(deviceId ? { deviceId: { exact: deviceId } } : { facingMode: "user" }) };
      session.stream = await navigator.mediaDevices.getUserMedia({ video, audio: false });
    } catch (err) {
      return this.finish(session, this.stopped(cameraError(err)));
    }
    if (session !== this.session) return this.release(session);
    this.parts.video.srcObject = session.stream;
    await this.parts.video.play().catch(() => {});
    this.listCameras();
    this.screen("countdown");
    for (let n = 3; n > 0; n -= 1) {
      this.show({ prompt: "state.countdown", promptValues: { n }, status: null });
      await new Promise((resolve) => setTimeout(resolve, 1000));
      if (session !== this.session) return this.release(session);
    }
    this.screen("connecting");
    this.show({ prompt: null, status: "state.connecting" });
    const token = this.sessionToken || (this.getSessionToken ? await this.getSessionToken() : undefined);
    this.sessionToken = undefined; // a client token works once
    session.usedToken = Boolean(token);
    const [track] = session.stream.getVideoTracks();
    const settings = track ? track.getSettings() : {};
    const camera = { label: track ? track.label : "", width: settings.width, height: settings.height, fps: settings.frameRate };
    const client = new LPClient(this.server(), { heartbeat: 5000, sessionToken: token, mirrored, camera });
    session.client = client;
    try {
      await client.connect();
    } catch (message) {
      const codes = errorCodes(message);
      if (codes.length === 0) {
        const type = await unopenedSocket(this.server());
        return this.finish(session, this.stopped(type));
      }
      const type = codes.includes(1032) || codes.includes(1033) ? "session-token-invalid" : codes.includes(1030) ? "origin-refused" : "protocol";
      return this.finish(session, { ...this.failure(message), error: { type, code: codes[0] } });
    }
    if (session !== this.session) return this.release(session);
    this.screen("running");
    this.show({ status: "guide.fit" });
    this.run(session, client, mirrored);
  }

  /** The server's address: the `server` attribute, else this page's server. */
  server() {
    if (this.getAttribute("server")) return this.getAttribute("server");
    return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/lpproto`;
  }

  run(session, client, mirrored) {
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d");
    const video = this.parts.video;
    const track = { key: null, seen: false, passed: 0, total: 0, flash: null, blurredSince: null };
    // One frame per new camera frame: the same picture twice reads as an injected stream.
    // (A frame goes anyway after 250 ms, where the browser has no video frame callbacks.)
    const nextFrame = (send) => {
      if (!video.requestVideoFrameCallback) return requestAnimationFrame(send);
      let sent = false;
      const once = () => { if (!sent) { sent = true; send(); } };
      video.requestVideoFrameCallback(once);
      setTimeout(once, 250);
    };
    const sendFrame = () => {
      if (session.finished || video.videoWidth === 0) return;
      const scale = Math.min(1, 640 / video.videoWidth);
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      context.setTransform(mirrored ? -1 : 1, 0, 0, 1, mirrored ? canvas.width : 0, 0);
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      // Each frame at a quality of its own (0.80-0.92): one encoder's tables throughout mark
      // frames encoded elsewhere (REQUIRE_VARYING_JPEG).
      const quality = 0.8 + Math.floor(Math.random() * 13) / 100;
      canvas.toBlob((jpeg) => jpeg && !session.finished && client.sendFrame(jpeg), "image/jpeg", quality);
    };
    client.onmessage = (message) => {
      if (message.command === "STATS") {
        this.stats(JSON.parse(message.body), track, canvas);
        nextFrame(sendFrame);
      } else if (message.command === "SUCCESS") {
        if (track.passed < track.total) this.cue("done", 880); // the last frame is answered by SUCCESS
        this.finish(session, { ok: true, token: message.body });
      } else if (message.command === "ERROR") {
        const code = Number(message.headers.error);
        // The verdict's ERROR lists every finding (`errors`); the server's codes that end the
        // session end it too, as an error. Other errors refuse one frame and the session goes on.
        if ("errors" in message.headers) {
          this.finish(session, this.failure(message));
        } else if ([1000, 1013, 1014, 1015, 1016, 1028].includes(code)) {
          this.finish(session, { ...this.failure(message), error: { type: "protocol", code } });
        } else {
          nextFrame(sendFrame);
        }
      }
    };
    client.onclose = () => {
      if (!session.finished) this.finish(session, { ...this.stopped("server-unreachable"), sentences: ["code.disconnected"] });
    };
    sendFrame();
  }

  /** One STATS: prompt, progress, cues and the guide's feedback. */
  stats(stats, track, canvas) {
    const details = stats.details || {};
    const challenge = details.challenge || {};
    const changes = {};
    if (challenge.name && challenge.stage === "challenge") {
      const key = `${challenge.name}/${challenge.index}`;
      if (track.key !== key || track.between) {
        // A new attempt: the same step again, or one more step after a failed one, is said in words.
        const again = track.lastIndex === challenge.index && track.lastName === challenge.name;
        const extra = track.total > 0 && challenge.total > track.total;
        changes.retry = again || extra ? { again, extra, next: challenge.name } : null;
        Object.assign(track, { key, seen: false, between: false, lastIndex: challenge.index, lastName: challenge.name });
      }
      if (!track.seen && challenge.progress > 0) {
        track.seen = true;
        changes.retry = null;
        this.cue("seen", 440); // seed 002: the pose is seen
      }
      Object.assign(changes, { prompt: `prompt.${challenge.name}`, icon: challenge.name });
    } else if (challenge.stage === "centering") {
      track.between = true;
      Object.assign(changes, { prompt: "prompt.back", icon: null });
    } else {
      Object.assign(changes, { prompt: null, icon: null });
    }
    if (challenge.total) {
      track.total = challenge.total;
      changes.step = { n: Math.min(challenge.index + 1, challenge.total), total: challenge.total };
      changes.seconds = challenge.timeLeftMs == null ? null : Math.ceil(challenge.timeLeftMs / 1000);
      const percent = Math.round(Math.min(1, challenge.progress || 0) * 100);
      this.parts.fill.style.width = `${percent}%`;
      this.parts.progress.setAttribute("aria-valuenow", String(percent));
    }
    const flash = challenge.stage === "challenge" && challenge.flash;
    if (flash && track.flash !== `${challenge.index}/${flash.colours}`) {
      track.flash = `${challenge.index}/${flash.colours}`;
      this.flash(flash);
    }
    if ((challenge.passed || 0) > track.passed) {
      track.passed = challenge.passed;
      this.cue("done", 880); // seed 002: a challenge completed
    }
    const errors = stats.errors || [];
    const live = errors.map((code) => LIVE_CODES[code]).find(Boolean);
    const placed = this.placement(details.faceRect, canvas);
    const blurred = errors.includes(5);
    track.blurredSince = blurred ? (track.blurredSince ?? Date.now()) : null;
    const lens = blurred && challenge.hint === "hold-still" && Date.now() - track.blurredSince >= LENS_AFTER_MS;
    const hint = lens ? "guide.lens" : HINTS[challenge.hint];
    // While a movement is asked, only what stops it from being seen is said (no "hold still"
    // under "shake your head"); while calibrating, the server's first blocker, then the oval.
    const moving = challenge.stage === "challenge";
    const blocking = live === "guide.still" || live === "guide.good" ? null : live;
    // "No face" from the server while the frame checks see one too small or off the frame: the
    // frame checks' word ("move closer") is the more useful.
    const calibrating = challenge.hint === "show-face" ? live || hint || placed : hint || live || placed;
    changes.status = challenge.stage === "calibrating" ? calibrating : moving ? blocking : live || hint || null;
    if (!moving && challenge.stage !== "centering") changes.retry = null;
    const misplaced = challenge.stage === "calibrating" && PLACEMENT_HINTS.includes(challenge.hint);
    const unfit = live || misplaced || (placed && placed !== "guide.good");
    this.parts.oval.dataset.fit = unfit ? "adjust" : "good";
    this.show(changes);
  }

  /** The words of a retry: the step failed, perhaps one was added, and which comes next. */
  retryWords(retry) {
    const next = this.t("retry.next", { prompt: this.t(`prompt.${retry.next}`) });
    return [this.t("retry.failed"), retry.extra ? this.t("retry.extra") : "", next].filter(Boolean).join(" ");
  }

  /** The screen-flash step, from now: the screen around the oval grey, then each colour for
      its duration, then grey; the server measures the face's reflection of it. */
  flash(show) {
    const colour = /^#[0-9a-f]{6}$/i;
    const steps = [{ colour: show.neutral, until: show.leadMs }];
    let until = show.leadMs;
    (show.colours || []).forEach((c, i) => steps.push({ colour: c, until: (until += show.durationsMs[i]) }));
    steps.push({ colour: show.neutral, until: until + show.tailMs });
    if (!steps.every((s) => colour.test(s.colour) && Number.isFinite(s.until))) return;
    const start = performance.now();
    const session = this.session;
    this.dataset.flash = "on";
    const paint = () => {
      const step = steps.find((s) => performance.now() - start < s.until);
      if (!step || this.session !== session) {
        delete this.dataset.flash;
        return;
      }
      this.style.setProperty("--lv-flash", step.colour);
      requestAnimationFrame(paint);
    };
    paint();
  }

  /** Where the face sits against the oval: too far, too close, off-centre or good. */
  placement(rect, canvas) {
    if (!rect || !canvas.width || !canvas.height) return "guide.fit";
    const share = rect.width / Math.min(canvas.width, canvas.height);
    const dx = (rect.x + rect.width / 2) / canvas.width - 0.5;
    const dy = (rect.y + rect.height / 2) / canvas.height - 0.5;
    if (share < FIT.minShare) return "guide.far";
    if (share > FIT.maxShare) return "guide.close";
    if (Math.abs(dx) > FIT.maxOffset || Math.abs(dy) > FIT.maxOffset) return "guide.centre";
    return "guide.good";
  }

  /** The outcome of a check that stopped before its verdict, by `liveness-error` type. */
  stopped(type) {
    const words = {
      "camera-denied": ["code.cameraDenied", "action.camera"],
      "no-camera": ["code.noCamera", "action.noCamera"],
      "server-unreachable": ["code.unreachable", "action.retry"],
      "origin-refused": ["code.1030", "action.siteOwner"],
      protocol: ["code.1000", "action.reload"],
    }[type] || ["code.1000", "action.reload"];
    return { ok: false, sentences: [words[0]], action: words[1], error: { type, code: type === "origin-refused" ? 1030 : null } };
  }

  /** An outcome people can read from an ERROR: its sentences and what to do next. */
  failure(message) {
    const codes = errorCodes(message);
    const sentences = codes.slice(0, 2).map((code) => (this.words[`code.${code}`] ? `code.${code}` : "code.1000"));
    const first = codes[0];
    let action = ACTIONS[first] || (first >= 1000 ? "action.reload" : "action.retry");
    const values = {};
    if (action === "action.wait") values.minutes = Math.max(1, Math.ceil(Number(message.headers["retry-after-ms"] || 60000) / 60000));
    if (action === "action.newSession" && this.getSessionToken) action = "action.retry";
    return { ok: false, codes, sentences: sentences.length ? sentences : ["code.1000"], action, values, token: message.body };
  }

  /** Ends the session: the outcome on screen, the result to the integrator. */
  finish(session, outcome) {
    if (session !== this.session || session.finished) return;
    session.finished = true;
    this.release(session);
    this.session = null;
    const cancelled = outcome.cancelled;
    const age = outcome.ok ? null : ageDecision(outcome.codes || []);
    // A passed liveness check whose age is uncertain is no failure: a document check comes next.
    const documentCheck = age === "uncertain";
    this.dataset.outcome = cancelled ? "cancelled" : outcome.ok ? "success" : documentCheck ? "document-check" : "failure";
    if (outcome.error) this.dataset.error = outcome.error.type;
    else delete this.dataset.error;
    const title = cancelled ? "result.cancelled.title" : outcome.ok ? "result.ok.title" : documentCheck ? "result.age.title" : "result.failed.title";
    const sentences = cancelled ? ["result.cancelled.text"] : outcome.ok ? ["result.ok.text"] : outcome.sentences;
    // Without a way to a new client token, a used one cannot start another session; trying
    // again does not change an age decision.
    const final = FINAL_ACTIONS.includes(outcome.action);
    const canRetry = !outcome.ok && !final && !(session.usedToken && !this.getSessionToken);
    const action = !outcome.ok && !canRetry && !final ? "action.newSession" : outcome.action;
    this.show({ prompt: null, icon: null, step: null, seconds: null, status: null, retry: null, result: { title, sentences, action: outcome.ok ? null : action, values: outcome.values } });
    this.parts.retry.hidden = !canRetry;
    const debug = this.hasAttribute("debug") && outcome.token;
    this.parts.debug.hidden = !debug;
    this.parts.debug.querySelector("textarea").value = debug ? outcome.token : "";
    this.screen("result");
    this.parts.title.focus();
    const sessionId = session.client ? session.client.sessionId : null;
    if (cancelled) {
      this.emit("liveness-cancel", { sessionId });
    } else if (outcome.error) {
      const message = sentences.map((key) => this.t(key)).join(" ");
      this.emit("liveness-error", { type: outcome.error.type, code: outcome.error.code ?? null, message, sessionId });
    } else {
      const detail = { sessionId, isOk: Boolean(outcome.ok), errors: outcome.codes || [], ageDecision: age };
      this.emit("liveness-result", detail);
      this.emit("result", detail); // the name before liveness-result, for integrations written then
    }
  }

  emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }

  cancel() {
    if (this.session) this.finish(this.session, { ok: false, cancelled: true, action: "action.retry" });
  }

  /** Camera off and socket closed. */
  release(session) {
    if (session.stream) session.stream.getTracks().forEach((track) => track.stop());
    if (session.client) {
      session.client.onclose = () => {};
      session.client.close();
    }
  }

  stop() {
    if (this.session) this.release(this.session);
    this.session = null;
  }

  disconnectedCallback() {
    this.stop();
  }
}

if (typeof customElements !== "undefined" && !customElements.get("liveness-check")) customElements.define("liveness-check", LivenessCheck);

/**
 * Mounts a check into `container`; returns the element.
 * options: server, sessionToken, getSessionToken, onResult({sessionId, isOk, errors, ageDecision}),
 * onError({type, code, message, sessionId}), onCancel({sessionId}), lang, languages ({code: strings}),
 * displayText ({key: text}), debug, autostart.
 */
export function mount(container, options = {}) {
  for (const [code, words] of Object.entries(options.languages || {})) registerLanguage(code, words);
  const element = document.createElement("liveness-check");
  if (options.server) element.setAttribute("server", options.server);
  if (options.sessionToken) element.setAttribute("session-token", options.sessionToken);
  if (options.lang) element.setAttribute("lang", options.lang);
  if (options.debug) element.setAttribute("debug", "");
  if (options.getSessionToken) element.getSessionToken = options.getSessionToken;
  if (options.displayText) element.displayText = options.displayText;
  if (options.onResult) element.addEventListener("liveness-result", (event) => options.onResult(event.detail));
  if (options.onError) element.addEventListener("liveness-error", (event) => options.onError(event.detail));
  if (options.onCancel) element.addEventListener("liveness-cancel", (event) => options.onCancel(event.detail));
  container.append(element);
  if (options.autostart) element.start();
  return element;
}
