#!/usr/bin/python3
"""cdp.py: a phone-sized Chromium for the integration tests, driven through the DevTools
protocol (CDP). Debian's python3 and python3-websocket only; nothing else is installed.

It starts headless Chromium with a fresh profile and --remote-debugging-port=0, reads the
port from DevToolsActivePort, opens one page with a 360x640 phone viewport, and then reads
one command a line on stdin (fields separated by tabs) and answers one line on stdout:
"ok ..." or "err WHY". A test keeps the browser for its whole run: the phone's cookies live
as long as the browser does.

  open URL          load URL; wait for the page's load event     -> ok STATUSES URL
  reload            load the page again                          -> ok STATUSES URL
  type CSS TEXT     focus the field, clear it, type TEXT (as keys would insert it)
  choose CSS VALUE  pick VALUE in a <select> (the change event fires)
  submit CSS        click the submit button of the form holding CSS -> ok STATUSES URL
  eval JS           the value of the expression, as JSON on one line -> ok JSON
  header NAME       a header of the last page's answer            -> ok VALUE (or ok)
  shot NAME         screenshot of the viewport, PREFIXNAME.png in --shots -> ok PATH
  quit              close the browser and stop

STATUSES is the HTTP statuses of the page's load, redirects first, joined by commas (a
form answered 303 then 200 gives 303,200). Every command has a deadline (--step, seconds);
past it the answer is "err timeout ..."; after three timeouts every command but quit fails
at once, so a hung browser cannot hold a test for long. Chromium and everything it started are killed when
this program ends, whatever ends it (quit, end of input, a signal, an error).
Never prints a cookie; the pages' text goes only where a test asks for it (eval).
"""
import argparse
import base64
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

import websocket

CHROMIUM = "/usr/bin/chromium"
START_DEADLINE_S = 30  # Chromium's first start on a slow machine
GIVE_UP_AFTER = 3  # timeouts after which every command fails at once (a test stays bounded)
CSS_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class CdpError(Exception):
    pass


class Browser:
    def __init__(self, profile, extra_args, step_s, log):
        self.step_s = step_s
        self.proc = None
        self.ws = None
        self.next_id = 0
        self.events = []
        self.session = None
        self.frame = None
        self.docs = []  # statuses of the main frame's document loads since the last mark
        self.headers = {}
        self.loaded = False
        self.profile, self.extra_args, self.log = profile, extra_args, log

    def start(self):
        profile, step_s = self.profile, self.step_s
        args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-extensions", "--disable-sync",
                "--no-first-run", "--no-default-browser-check", "--password-store=basic",
                "--disable-features=Translate,MediaRouter", "--remote-debugging-port=0",
                "--remote-debugging-address=127.0.0.1", "--user-data-dir=" + profile]
        args += self.extra_args + ["about:blank"]
        # its own process group: the whole tree goes at the end
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     start_new_session=True)
        port_file = os.path.join(profile, "DevToolsActivePort")
        end = time.monotonic() + START_DEADLINE_S
        lines = []
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise CdpError("chromium ended at start (exit %d): see its log" % self.proc.returncode)
            try:
                with open(port_file) as f:
                    lines = f.read().split("\n")
                if len(lines) >= 2 and lines[0].isdigit() and lines[1].startswith("/devtools/"):
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        else:
            raise CdpError("chromium wrote no DevToolsActivePort within %d s" % START_DEADLINE_S)
        # no Origin header: Chromium refuses a DevTools connection from a web origin
        self.ws = websocket.create_connection("ws://127.0.0.1:%s%s" % (lines[0], lines[1]),
                                              timeout=step_s, suppress_origin=True)
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target["targetId"], "flatten": True},
                                 session=False)["sessionId"]
        self.frame = self.call("Page.getFrameTree")["frameTree"]["frame"]["id"]
        for domain in ("Page", "Network", "Runtime"):
            self.call(domain + ".enable")
        # a phone: 360x640 CSS pixels at 2 device pixels each, touch, the mobile layout
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 360, "height": 640, "deviceScaleFactor": 2, "mobile": True})
        self.call("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})

    # ---- the protocol ----------------------------------------------------------------
    def call(self, method, params=None, session=True, deadline=None):
        self.next_id += 1
        mid = self.next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        end = deadline or time.monotonic() + self.step_s
        while True:
            m = self.recv(end, method)
            if m.get("id") == mid:
                if "error" in m:
                    raise CdpError("%s: %s" % (method, m["error"].get("message", "error")))
                return m.get("result", {})

    def recv(self, end, what):
        left = end - time.monotonic()
        if left <= 0:
            raise CdpError("timeout waiting for %s" % what)
        self.ws.settimeout(left)
        try:
            m = json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            raise CdpError("timeout waiting for %s" % what)
        if "method" in m:
            self.event(m)
        return m

    def event(self, m):
        p = m.get("params", {})
        if m["method"] == "Network.requestWillBeSent":
            r = p.get("redirectResponse")
            if r and p.get("type") == "Document" and p.get("frameId") == self.frame:
                self.docs.append(r["status"])
        elif m["method"] == "Network.responseReceived":
            if p.get("type") == "Document" and p.get("frameId") == self.frame:
                self.docs.append(p["response"]["status"])
                self.headers = {k.lower(): v for k, v in p["response"].get("headers", {}).items()}
        elif m["method"] == "Page.loadEventFired":
            self.loaded = True
        elif m["method"] == "Inspector.detached" or m["method"] == "Target.targetCrashed":
            raise CdpError("the page is gone (%s)" % m["method"])

    # ---- pages -----------------------------------------------------------------------
    def mark(self):
        self.docs = []
        self.headers = {}
        self.loaded = False

    def settle(self, what):
        """Waits for the load event of a document load begun after mark(), then for
        document.readyState == "complete"."""
        end = time.monotonic() + self.step_s
        while not (self.loaded and self.docs):
            self.recv(end, what)
        while self.value("document.readyState", end) != "complete":
            time.sleep(0.05)
        return "ok %s %s" % (",".join(str(s) for s in self.docs), self.value("location.href", end))

    def value(self, expr, deadline=None):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                           "awaitPromise": True}, deadline=deadline)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CdpError("script error: %s" % d.get("exception", {}).get("description", d.get("text")))
        return r.get("result", {}).get("value")

    def open(self, url):
        self.mark()
        r = self.call("Page.navigate", {"url": url})
        if r.get("errorText"):
            raise CdpError("cannot open %s: %s" % (url, r["errorText"]))
        return self.settle("the load of " + url)

    def reload(self):
        self.mark()
        self.call("Page.reload", {"ignoreCache": True})
        return self.settle("the reload")

    def element(self, css, check):
        """JS that finds css (or throws) and then runs check on `e`."""
        return ("(() => { const e = document.querySelector(%s); if (!e) throw new Error("
                "'no element ' + %s + ' on ' + location.pathname); %s })()"
                % (json.dumps(css), json.dumps(css), check))

    def type(self, css, text):
        self.value(self.element(css, "e.focus(); e.select && e.select(); return true;"))
        self.call("Input.insertText", {"text": text})
        got = self.value(self.element(css, "return e.value;"))
        if got != text:
            raise CdpError("typed %r into %s, the field holds %r" % (text, css, got))
        return "ok"

    def choose(self, css, val):
        ok = self.value(self.element(
            css, "if (![...e.options].some(o => o.value === %s)) return false; e.value = %s;"
                 "e.dispatchEvent(new Event('change', {bubbles: true})); return true;"
                 % (json.dumps(val), json.dumps(val))))
        if not ok:
            raise CdpError("%s has no option %r" % (css, val))
        return "ok"

    def submit(self, css):
        self.mark()
        # the button a person taps, so the browser sends the form as it would
        self.value(self.element(
            css, "const f = e.closest('form'); if (!f) throw new Error('no form holds ' + %s);"
                 "const b = f.querySelector('[type=submit]'); if (b) b.click(); else "
                 "f.requestSubmit(); return true;" % json.dumps(css)))
        return self.settle("the answer to the form " + css)

    def shot(self, path):
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return "ok " + path

    def close(self):
        if self.ws:
            try:
                self.call("Browser.close", session=False, deadline=time.monotonic() + 3)
            except Exception:
                pass
            self.ws.close()
        if self.proc:
            try:
                self.proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                pass
            try:  # whatever it left behind (renderers, zygotes): its whole group
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


def serve(b, shots, prefix):
    timeouts = 0
    for line in sys.stdin:
        f = line.rstrip("\n").split("\t")
        cmd, args = f[0], f[1:]
        want = {"open": 1, "reload": 0, "type": 2, "choose": 2, "submit": 1, "eval": 1,
                "header": 1, "shot": 1, "quit": 0}
        try:
            if timeouts >= GIVE_UP_AFTER and cmd != "quit":
                raise CdpError("the browser stopped answering (%d timeouts): not asked" % timeouts)
            if cmd not in want or len(args) != want[cmd]:
                raise CdpError("unknown command or wrong number of fields: %r" % line.strip())
            if cmd == "quit":
                print("ok", flush=True)
                return
            if cmd == "open":
                out = b.open(args[0])
            elif cmd == "reload":
                out = b.reload()
            elif cmd == "type":
                out = b.type(*args)
            elif cmd == "choose":
                out = b.choose(*args)
            elif cmd == "submit":
                out = b.submit(args[0])
            elif cmd == "eval":
                out = "ok " + json.dumps(b.value(args[0]), ensure_ascii=False)
            elif cmd == "header":
                out = ("ok " + b.headers.get(args[0].lower(), "")).rstrip()
            else:
                if not CSS_NAME.match(args[0]):
                    raise CdpError("a screenshot's name is letters, digits, '.', '_', '-'")
                out = b.shot(os.path.join(shots, prefix + args[0] + ".png"))
        except (CdpError, websocket.WebSocketException, OSError) as e:
            out = "err " + str(e).replace("\n", " ")
            timeouts += "timeout" in str(e)
        print(out, flush=True)


def main():
    ap = argparse.ArgumentParser(description="a phone-sized Chromium driven over CDP")
    ap.add_argument("--shots", default=".", help="folder of the screenshots")
    ap.add_argument("--prefix", default="", help="screenshot names start with this")
    ap.add_argument("--step", type=float, default=20, help="seconds each command may take")
    ap.add_argument("--log", default=os.devnull, help="Chromium's own output goes here")
    ap.add_argument("--chrome-arg", action="append", default=[],
                    help="one more Chromium option (repeatable)")
    a = ap.parse_args()
    if not os.access(CHROMIUM, os.X_OK):
        print("err %s is not installed (apt-get install chromium)" % CHROMIUM, flush=True)
        return 1
    # a signal ends the program through the finally below, which ends Chromium
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(s, lambda n, _f: sys.exit(128 + n))
    b = None
    with tempfile.TemporaryDirectory(prefix="amcdp-") as profile, open(a.log, "ab") as log:
        try:
            b = Browser(profile, a.chrome_arg, a.step, log)
            b.start()
            print("ok ready", flush=True)
            serve(b, a.shots, a.prefix)
        except (CdpError, websocket.WebSocketException, OSError) as e:
            print("err " + str(e).replace("\n", " "), flush=True)
            return 1
        finally:
            if b:
                b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
