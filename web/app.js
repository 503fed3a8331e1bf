// The liveness page: camera -> LPProto -> prompts, progress, beeps and the verdict.
// The page's state is mirrored in document.body.dataset (state, stage, challenge, verdict) for
// automation; window.lpBeeps lists the beeps played (frequency in Hz).
"use strict";

const PROMPTS = {
  turn_left: ["Turn your head to your left", "\u2190"],
  turn_right: ["Turn your head to your right", "\u2192"],
  look_up: ["Look up", "\u2191"],
  look_down: ["Look down", "\u2193"],
  nod_yes: ["Nod: up, then down", "\u2195"],
  shake_no: ["Shake your head: left, then right", "\u2194"],
  blink: ["Blink", "\u25C9"],
  open_mouth: ["Open your mouth", "O"],
  smile: ["Smile", "\u263A"],
  move_closer: ["Move closer to the camera", "\u2922"],
};

const ERROR_HINTS = {
  1: "No face in view",
  2: "Only one person, please",
  3: "Come closer",
  4: "Move to the centre",
  5: "Hold still: the picture is blurred",
  6: "More light, please",
  7: "Too bright",
  8: "The light is uneven",
  9: "Glare on the face",
};

// What lvchallenge asks the person to change before (and between) the challenges.
const STAGE_HINTS = {
  "face-camera": "Look straight at the camera",
  "move-closer": "Come closer",
  "move-back": "Move back a little",
  "more-light": "More light, please",
  "hold-still": "Hold still",
};

window.lpBeeps = [];
let audio = null;

function beep(frequency) {
  window.lpBeeps.push(frequency);
  try {
    audio = audio || new AudioContext();
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.frequency.value = frequency;
    gain.gain.value = 0.2;
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start();
    oscillator.stop(audio.currentTime + 0.1); // seed 002: 100 ms
  } catch (err) {
    console.warn("no audio:", err);
  }
}

const $ = (id) => document.getElementById(id);

function setState(state, text) {
  document.body.dataset.state = state;
  if (text !== undefined) $("status").textContent = text;
}

function showChallenge(challenge) {
  const [text, sign] = PROMPTS[challenge.name] || [challenge.name, "?"];
  document.body.dataset.challenge = challenge.name;
  $("prompt").textContent = text;
  $("sign").textContent = sign;
  $("step").textContent = `Step ${challenge.index + 1} of ${challenge.total}`;
  $("progress").style.width = `${Math.round(Math.min(1, challenge.progress) * 100)}%`;
  const seconds = challenge.timeLeftMs == null ? "" : `${Math.ceil(challenge.timeLeftMs / 1000)} s left`;
  $("time").textContent = seconds;
}

function showVerdict(ok, title, details) {
  document.body.dataset.verdict = ok ? "success" : "failure";
  setState("done", title);
  $("verdict").hidden = false;
  $("verdict").className = ok ? "verdict ok" : "verdict failed";
  $("verdict-title").textContent = title;
  $("verdict-details").textContent = details;
  $("prompt").textContent = "";
  $("sign").textContent = ok ? "\u2714" : "\u2716";
}

/**
 * The client token of a relying party's session, handed over in the address fragment
 * (`/#session-token=...`: a fragment is never sent to a server or written in its logs). It
 * works once, so it is taken out of the address bar and out of the history.
 */
let sessionToken = new URLSearchParams(location.hash.slice(1)).get("session-token") || undefined;
if (sessionToken) history.replaceState(null, "", location.pathname + location.search);
function takeSessionToken() {
  const token = sessionToken;
  sessionToken = undefined;
  return token;
}

async function start() {
  $("start").disabled = true;
  $("verdict").hidden = true;
  $("still").hidden = true;
  delete document.body.dataset.verdict;
  setState("camera", "Opening the camera\u2026");
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (err) {
    showVerdict(false, "No camera", `The camera could not be opened: ${err.message}`);
    $("start").disabled = false;
    return;
  }
  const video = $("video");
  video.srcObject = stream;
  await video.play();

  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const client = new LPClient(`${scheme}://${location.host}/lpproto`, {
    heartbeat: 5000,
    sessionToken: takeSessionToken(),
  });
  setState("connecting", "Connecting\u2026");
  try {
    await client.connect();
  } catch (message) {
    const retry = message.headers && message.headers["retry-after-ms"];
    const wait = retry ? ` Try again in ${Math.ceil(Number(retry) / 60000)} min.` : "";
    showVerdict(false, "Not now", `${message.headers.reason || "The server refused the session."}${wait}`);
    stream.getTracks().forEach((t) => t.stop());
    $("start").disabled = false;
    return;
  }
  setState("running", "Look at the camera");

  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d");
  let lastChallenge = null;
  let passed = 0;
  let total = 0;
  let detected = false;
  let finished = false;

  const finish = () => {
    finished = true;
    // Keep the last frame in view once the camera is off.
    if (canvas.width > 0) {
      $("still").src = canvas.toDataURL("image/jpeg", 0.85);
      $("still").hidden = false;
    }
    $("time").textContent = "";
    stream.getTracks().forEach((t) => t.stop());
    $("start").disabled = false;
  };

  const sendFrame = () => {
    if (finished || video.videoWidth === 0) return;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    context.drawImage(video, 0, 0);
    const jpeg = canvas.toDataURL("image/jpeg", 0.85).split(",")[1];
    client.sendFrame(jpeg);
  };

  client.onmessage = (message) => {
    if (message.command === "STATS") {
      const stats = JSON.parse(message.body);
      const details = stats.details || {};
      const challenge = details.challenge;
      if (challenge && challenge.name) {
        if (lastChallenge !== `${challenge.name}/${challenge.index}`) {
          lastChallenge = `${challenge.name}/${challenge.index}`;
          detected = false;
        }
        if (!detected && challenge.progress > 0) {
          detected = true;
          beep(440); // seed 002: the pose is seen
        }
        total = challenge.total;
        showChallenge(challenge);
      }
      if (challenge && challenge.passed > passed) {
        passed = challenge.passed;
        beep(880); // seed 002: a challenge completed
      }
      const stageHint = challenge && challenge.hint ? STAGE_HINTS[challenge.hint] : undefined;
      document.body.dataset.stage = (challenge && challenge.stage) || "";
      if (challenge && challenge.stage === "centering") {
        $("prompt").textContent = "";
        $("sign").textContent = "";
      }
      const hint = (stats.errors || []).map((code) => ERROR_HINTS[code]).find(Boolean) || stageHint;
      $("status").textContent = hint || (challenge && challenge.name ? "" : "Look at the camera");
      requestAnimationFrame(sendFrame);
    } else if (message.command === "SUCCESS") {
      // The frame that completed the last challenge is answered by SUCCESS itself.
      if (passed < total) beep(880);
      let details = "";
      try {
        const claims = jwtClaims(message.body);
        details = `Session ${claims.sub || ""}`;
      } catch (err) {
        details = "";
      }
      $("token").value = message.body;
      $("progress").style.width = "100%";
      showVerdict(true, "You are live", details);
      finish();
    } else if (message.command === "ERROR") {
      const codes = message.headers.errors || message.headers.error;
      if (message.body) $("token").value = message.body;
      const terminal = message.body || ["1000", "1013", "1014", "1015", "1016"].includes(message.headers.error);
      if (terminal) {
        showVerdict(false, "Not verified", `${message.headers.reason || ""} (codes ${codes})`);
        finish();
      } else {
        requestAnimationFrame(sendFrame);
      }
    }
  };
  client.onclose = () => {
    if (!finished) {
      showVerdict(false, "Disconnected", "The connection to the server closed.");
      finish();
    }
  };
  sendFrame();
}

window.addEventListener("DOMContentLoaded", () => {
  $("start").addEventListener("click", start);
  setState("idle", "Press start and look at the camera");
  if (new URLSearchParams(location.search).has("autostart")) start();
});
