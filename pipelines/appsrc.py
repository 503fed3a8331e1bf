#!/usr/bin/python3
"""The liveness chain fed through appsrc, the way an application embeds it.

The application owns the frames (from a browser, a phone, a file): it pushes each JPEG with
its timestamp into appsrc, the chain decodes and checks them, and lvjwtsink
hands back the signed token (the `liveness-token` bus message; the `verdict` signal carries the
same from the streaming thread). lpserver does the same in Rust (src/session.rs); this is the
Python form with PyGObject (Debian: python3-gi, gir1.2-gstreamer-1.0,
gir1.2-gst-plugins-base-1.0).

    appsrc caps=image/jpeg ! jpegdec ! queue ! videoconvert ! lvfacedetect ! lvlandmarks
      ! lvantispoof ! lvsurfaceanalysis ! lvchallenge ! lvjwtsink

Here the frames are the JPEG files of a folder, in name order, at --fps. The token is printed
on standard output, the verdict on standard error; the exit status is 0 when a token was
issued, whatever its verdict. Properties are set on the elements, never pasted into the
launch line, so no value can change the pipeline.
"""

import argparse
import base64
import json
import os
import sys

try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstApp", "1.0")
    from gi.repository import GLib, Gst  # noqa: E402
except (ImportError, ValueError) as err:
    sys.exit(f"appsrc.py: PyGObject with GStreamer is missing ({err}): apt-get install python3-gi "
             "gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0")

LAUNCH = ("appsrc name=src format=time block=true max-bytes=8000000 ! jpegdec ! queue ! videoconvert "
          "! lvfacedetect ! lvlandmarks ! lvantispoof ! lvsurfaceanalysis ! lvchallenge name=challenge "
          "! lvjwtsink name=jwt")


def fail(message, status=2):
    print(f"appsrc.py: {message}", file=sys.stderr)
    sys.exit(status)


def arguments():
    parser = argparse.ArgumentParser(
        description="Runs the liveness chain on JPEG frames pushed through appsrc and prints the verdict token.",
        epilog="The liveness plugin must be on GStreamer's plugin path (installed, or GST_PLUGIN_PATH set "
               "to the folder holding libgstliveness.so). There is no default key: set LIVENESS_JWT_SECRET "
               "or pass --key-file. The token holds the best shot, a face image.")
    parser.add_argument("--frames", required=True, help="folder of JPEG frames, pushed in name order")
    parser.add_argument("--fps", type=int, default=10, help="frames a second the frames were taken at (default 10)")
    parser.add_argument("--sequence", help="a fixed challenge sequence (tests and recordings only)")
    parser.add_argument("--length", type=int, help="challenges per session (default 5)")
    parser.add_argument("--mirrored", action="store_true", help="the frames are a selfie view")
    parser.add_argument("--key-file", help="HS256 secret or RS256/ES256 PEM private key; else LIVENESS_JWT_SECRET")
    parser.add_argument("--algorithm", choices=["hs256", "rs256", "es256"], default="hs256")
    parser.add_argument("--min-age", type=int, help="age the best shot must show (default 18; 0 off)")
    return parser.parse_args()


def main():
    args = arguments()
    if not os.path.isdir(args.frames):
        fail(f"no folder {args.frames}", 3)
    frames = sorted(os.path.join(args.frames, name) for name in os.listdir(args.frames)
                    if name.lower().endswith((".jpg", ".jpeg")))
    if not frames:
        fail(f"no .jpg files in {args.frames}", 3)
    if not 1 <= args.fps <= 240:
        fail("--fps must be 1 to 240")
    if not args.key_file and not os.environ.get("LIVENESS_JWT_SECRET"):
        fail("no signing key: set LIVENESS_JWT_SECRET (e.g. export LIVENESS_JWT_SECRET=$(openssl rand -hex 32)) "
             "or pass --key-file; there is no default key")

    # ONNX Runtime 1.32 keeps a device id and telemetry events under $HOME unless told not to.
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    Gst.init(None)
    if Gst.ElementFactory.find("lvjwtsink") is None:
        fail("the liveness plugin is not found: install it (meson install), or set GST_PLUGIN_PATH to the "
             "folder holding libgstliveness.so", 3)
    pipeline = Gst.parse_launch(LAUNCH)
    src = pipeline.get_by_name("src")
    src.set_property("caps", Gst.Caps.from_string(f"image/jpeg,framerate={args.fps}/1"))
    challenge = pipeline.get_by_name("challenge")
    challenge.set_property("mirrored", args.mirrored)
    if args.sequence:
        challenge.set_property("sequence", args.sequence)
    if args.length:
        challenge.set_property("length", args.length)
    jwt = pipeline.get_by_name("jwt")
    jwt.set_property("algorithm", args.algorithm)
    if args.key_file:
        jwt.set_property("key-file", args.key_file)
    if args.min_age is not None:
        jwt.set_property("min-age", args.min_age)

    loop = GLib.MainLoop()
    outcome = {}

    def on_message(_bus, message):
        if message.type == Gst.MessageType.ELEMENT and message.get_structure().get_name() == "liveness-token":
            # lvjwtsink's verdict (the `verdict` signal says the same from the streaming thread).
            s = message.get_structure()
            outcome.update(token=s.get_string("token"), is_ok=s.get_value("is-ok"))
            loop.quit()
        elif message.type == Gst.MessageType.ERROR:
            err, debug = message.parse_error()
            outcome["error"] = f"{err.message} ({debug})"
            loop.quit()
        elif message.type == Gst.MessageType.EOS:
            loop.quit()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)

    # The application's side: push every frame with its timestamp, then the end of stream.
    duration = Gst.SECOND // args.fps
    pushed = {"next": 0}

    def push_next():
        i = pushed["next"]
        if "token" in outcome or "error" in outcome:
            return False
        if i == len(frames):
            src.emit("end-of-stream")
            return False
        with open(frames[i], "rb") as f:
            buffer = Gst.Buffer.new_wrapped(f.read())
        buffer.pts = i * duration
        buffer.duration = duration
        pushed["next"] = i + 1
        return src.emit("push-buffer", buffer) == Gst.FlowReturn.OK

    GLib.idle_add(push_next)
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        pipeline.set_state(Gst.State.NULL)
        fail("the pipeline does not start (GST_DEBUG=2 tells why)", 1)
    loop.run()
    pipeline.set_state(Gst.State.NULL)

    if "token" not in outcome:
        fail(outcome.get("error", "the frames ended without a verdict"), 1)
    claims = json.loads(base64.urlsafe_b64decode(outcome["token"].split(".")[1] + "=="))
    print(f"verdict: isOk {str(outcome['is_ok']).lower()}, errors {claims.get('errors')}", file=sys.stderr)
    print(outcome["token"])


if __name__ == "__main__":
    main()
