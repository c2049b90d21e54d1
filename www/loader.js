/*! Frontdesk widget loader. Paste: <script src="https://YOUR-FRONTDESK/widget.js" data-site="demo" async></script> */
// Draws the launcher at once and loads the chat app in an iframe from the Frontdesk origin on
// intent (hover, focus, click) or when the page is idle. Adds one global, `Frontdesk`, which is
// also a command queue usable before this script loads:
//   window.Frontdesk = window.Frontdesk || function () { (Frontdesk.q = Frontdesk.q || []).push(arguments) };
//   Frontdesk('open');
// Everything lives in a shadow root styled by a constructed stylesheet (CSSOM, allowed under a
// strict style-src) whose `:host` rules are !important, so host CSS and host CSP cannot break it.
// Kept small and synchronous-light: it runs on someone else's page (`cargo xtask bench widget`
// measures its main-thread time).
(function () {
  "use strict";
  var w = window, d = document;
  // Timing marks only when `cargo xtask bench widget` asks for them (no cost on real pages).
  var perf = w.__frontdeskBench && w.performance;
  if (perf) perf.mark("frontdesk:start");
  var prior = w.Frontdesk;
  if (prior && prior.loaded) return; // loaded twice: the first instance stays

  var script = d.currentScript || d.querySelector('script[src*="widget.js"][data-site]');
  if (!script) return;
  // script.src is already absolute: its origin is everything before the first path slash.
  // (String scans rather than regular expressions: compiling one costs more than this whole
  // function on a slow phone.)
  var src = script.src, slash = src.indexOf("/", src.indexOf("//") + 2);
  var origin = slash < 0 ? src : src.slice(0, slash);
  var attr = function (k) { return script.getAttribute("data-" + k) || ""; };
  var site = attr("site") || "demo";
  // The host's setting; without one the app picks the browser's language inside its frame.
  var lang = attr("lang");
  var color = hexColor(attr("color")) || "#2f5bea";
  var side = attr("position") === "left" ? "left" : "right";
  var labels = { pt: "Abrir o chat de suporte", tr: "Destek sohbetini aç", ru: "Открыть чат поддержки" };
  var label = labels[(lang || d.documentElement.lang).slice(0, 2).toLowerCase()] || "Open support chat";

  // `!important` in a shadow root's own rules beats any `!important` of the page around it (the
  // cascade lets the inner context win for important rules), so host CSS such as
  // `* { all: unset !important }` or `frontdesk-widget { display: none !important }` cannot reach
  // in; `all:initial` also resets transform, filter, opacity, visibility and contain.
  // Only the launcher's rules are parsed at once; the rest waits until the app is wanted.
  var CSS = ":host{all:initial!important;display:block!important;position:fixed!important;" +
    "z-index:2147483000!important;bottom:0!important;" + side + ":0!important;width:0!important;height:0!important}" +
    ".fd-launcher{all:initial;position:fixed;bottom:20px;" + side + ":20px;width:56px;height:56px;border-radius:50%;" +
    "background:" + color + ";cursor:pointer;display:flex;align-items:center;justify-content:center;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483001}" +
    ".fd-launcher:focus-visible{outline:3px solid #ffb020;outline-offset:2px}" +
    // The icons are the button's own pseudo-elements: no child elements, no SVG to parse on
    // someone else's page. Closed: a speech bubble (::before) and its tail (::after).
    ".fd-launcher:before,.fd-launcher:after{content:'';position:absolute;background:#fff}" +
    ".fd-launcher:before{left:16px;top:19px;width:24px;height:17px;border-radius:5px}" +
    ".fd-launcher:after{left:20px;top:34px;background:none;border:4px solid transparent;" +
    "border-top-color:#fff;border-left-color:#fff}";
  var LATER_CSS = [
    // Open: a cross made of the same two pseudo-elements.
    ".fd-launcher.open:before,.fd-launcher.open:after{left:26px;top:17px;width:3px;height:22px;border:0;" +
    "border-radius:2px;background:#fff;transform:rotate(45deg)}",
    ".fd-launcher.open:after{transform:rotate(-45deg)}",
    ".fd-badge{all:initial;position:absolute;top:-4px;" + side + ":-4px;min-width:20px;height:20px;border-radius:10px;" +
    "background:#c4001d;color:#fff;font:bold 12px/20px system-ui,sans-serif;text-align:center;padding:0 5px;" +
    "box-sizing:border-box;display:none}",
    ".fd-badge.on{display:block}",
    ".fd-panel{all:initial;position:fixed;bottom:88px;" + side + ":20px;width:380px;height:600px;" +
    "max-width:calc(100vw - 40px);max-height:calc(100vh - 108px);border-radius:14px;overflow:hidden;" +
    "box-shadow:0 8px 30px rgba(0,0,0,.3);background:#fff;display:none;z-index:2147483001}",
    ".fd-panel.open{display:block}",
    "iframe{all:initial;width:100%;height:100%;border:0;display:block}",
    "@media (max-width:640px){.fd-panel{width:100vw;height:100%;max-width:none;max-height:none;bottom:0;" + side + ":0;border-radius:0}}"];

  // `#rgb` to `#rrggbbaa`, or "" for anything else.
  function hexColor(c) {
    if (c.charAt(0) !== "#" || c.length < 4 || c.length > 9) return "";
    for (var i = 1; i < c.length; i++) if ("0123456789abcdefABCDEF".indexOf(c.charAt(i)) < 0) return "";
    return c;
  }

  function el(tag, cls, parent) {
    var e = d.createElement(tag);
    e.className = cls;
    parent.appendChild(e);
    return e;
  }

  var host, root, sheet, launcher, panel, frame, badge, isOpen = false, frameReady = false;
  var listeners = {}, outbox = [], baseTitle = null;

  function mount() {
    if (host) return;
    host = d.createElement("frontdesk-widget");
    root = host.attachShadow({ mode: "open" });
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
    // One element, built directly: cheaper than waking the HTML parser.
    launcher = el("button", "fd-launcher", root);
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", label);
    launcher.onclick = toggle;
    launcher.onpointerenter = launcher.onfocus = preload;
    (d.body || d.documentElement).appendChild(host);
    if (perf) perf.mark("frontdesk:launcher");
  }

  function preload() {
    mount();
    if (frame) return;
    if (baseTitle === null) baseTitle = d.title;
    // Listening starts with the frame (nothing can come from it before), and only to it.
    w.addEventListener("message", function (e) {
      if (e.origin !== origin || !frame || e.source !== frame.contentWindow || !e.data) return;
      var m = e.data;
      if (m.frontdesk === "ready") {
        // The app is listening (it loads after the frame's own load event): hand over the page
        // context and whatever was queued for it.
        frameReady = true;
        frame.contentWindow.postMessage({ frontdesk: "init", page: location.href, lang: lang || undefined }, origin);
        var queued = outbox; outbox = [];
        for (var i = 0; i < queued.length; i++) frame.contentWindow.postMessage(queued[i], origin);
        post({ frontdesk: "visible", open: isOpen && !d.hidden });
      } else if (m.frontdesk === "close") setOpen(false);
      else if (m.frontdesk === "unread" && typeof m.count === "number") {
        setUnread(isOpen && !d.hidden ? 0 : m.count);
        if (m.count > 0) emit("message", { unread: m.count });
      }
    });
    d.addEventListener("visibilitychange", function () {
      if (frame) post({ frontdesk: "visible", open: isOpen && !d.hidden });
      if (!d.hidden && isOpen) setUnread(0);
    });
    for (var i = 0; i < LATER_CSS.length; i++) sheet.insertRule(LATER_CSS[i], sheet.cssRules.length);
    badge = el("span", "fd-badge", launcher);
    panel = d.createElement("div");
    panel.className = "fd-panel";
    root.insertBefore(panel, launcher);
    frame = d.createElement("iframe");
    frame.title = "Frontdesk chat";
    frame.src = origin + "/frame/widget?site=" + encodeURIComponent(site) + (lang ? "&lang=" + encodeURIComponent(lang) : "");
    panel.appendChild(frame);
  }

  function setOpen(open) {
    preload();
    isOpen = open;
    panel.className = open ? "fd-panel open" : "fd-panel";
    launcher.className = open ? "fd-launcher open" : "fd-launcher";
    launcher.setAttribute("aria-expanded", String(open));
    post({ frontdesk: "visible", open: open && !d.hidden });
    if (open) { frame.focus(); setUnread(0); }
    emit(open ? "open" : "close", {});
  }

  function toggle() { setOpen(!isOpen); }

  // Messages to the frame always name the Frontdesk origin explicitly; they wait until the
  // app says it is listening.
  function post(msg) {
    if (frame && frameReady) frame.contentWindow.postMessage(msg, origin);
    else outbox.push(msg);
  }

  function setUnread(n) {
    if (!badge) return;
    badge.textContent = n > 9 ? "9+" : String(n);
    badge.className = n > 0 ? "fd-badge on" : "fd-badge";
    launcher.setAttribute("aria-label", n > 0 ? label + " (" + n + ")" : label);
    d.title = n > 0 && (d.hidden || !isOpen) ? "(" + n + ") " + baseTitle : baseTitle;
  }

  function emit(name, data) {
    var fns = listeners[name] || [];
    for (var i = 0; i < fns.length; i++) { try { fns[i](data); } catch (e) { setTimeout(function () { throw e; }); } }
  }

  function api(cmd, arg) {
    if (cmd === "open") setOpen(true);
    else if (cmd === "close") setOpen(false);
    else if (cmd === "toggle") toggle();
    else if (cmd === "setLocale" && typeof arg === "string" && /^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/.test(arg)) {
      lang = arg; post({ frontdesk: "locale", lang: arg });
    } else if (cmd === "refresh") {
      baseTitle = d.title.replace(/^\(\d+\+?\) /, "");
      post({ frontdesk: "page", page: location.href });
    } else if (cmd === "on" && typeof arg === "string" && typeof arguments[2] === "function") {
      (listeners[arg] = listeners[arg] || []).push(arguments[2]);
    } else if (cmd === "off" && typeof arg === "string") {
      var fn = arguments[2];
      listeners[arg] = (listeners[arg] || []).filter(function (f) { return f !== fn; });
    } else if (cmd === "reset") {
      post({ frontdesk: "reset" }); // the site's user logged out: a new, anonymous visitor
    } else if (cmd === "identify" && arg && typeof arg === "object") {
      post({ frontdesk: "identify", user: JSON.parse(JSON.stringify(arg)) });
    }
  }
  api.loaded = true;
  api.version = 1;
  w.Frontdesk = api;

  var start = function () {
    mount();
    var queued = (prior && prior.q) || [];
    for (var i = 0; i < queued.length; i++) api.apply(null, queued[i]);
    // Load the app when the page is idle, so opening is instant.
    (w.requestIdleCallback || function (f) { setTimeout(f, 2000); })(preload);
  };
  if (d.body) start();
  else d.addEventListener("DOMContentLoaded", start);
  if (perf) perf.mark("frontdesk:end");
})();
