/*! Frontdesk widget loader. Paste: <script src="https://YOUR-FRONTDESK/widget.js" data-site="demo" async></script> */
// Draws the launcher at once and loads the chat app in an iframe from the Frontdesk origin on
// intent (hover, focus, click) or when the page is idle. Adds one global, `Frontdesk`, which is
// also a command queue usable before this script loads:
//   window.Frontdesk = window.Frontdesk || function () { (Frontdesk.q = Frontdesk.q || []).push(arguments) };
//   Frontdesk('open');
// Styles are set through the CSSOM inside a shadow root, so a host's strict CSP
// (style-src 'self') and global CSS resets do not break it.
(function () {
  "use strict";
  var w = window, d = document;
  var perf = w.performance && w.performance.mark ? w.performance : null;
  if (perf) perf.mark("frontdesk:start"); // read by `cargo xtask bench widget`
  var prior = w.Frontdesk;
  if (prior && prior.loaded) return; // loaded twice: the first instance stays

  var script = d.currentScript || d.querySelector('script[src*="widget.js"][data-site]');
  if (!script) return;
  var origin = new URL(script.src, location.href).origin;
  var data = function (k, dflt) { return script.getAttribute("data-" + k) || dflt; };
  var site = data("site", "demo");
  var lang = data("lang", (navigator.language || "en"));
  var color = /^#[0-9a-fA-F]{3,8}$/.test(data("color", "")) ? data("color") : "#2f5bea";
  var left = data("position", "right") === "left";
  var labels = { pt: "Abrir o chat de suporte", tr: "Destek sohbetini aç", ru: "Открыть чат поддержки" };
  var label = labels[lang.slice(0, 2).toLowerCase()] || "Open support chat";

  var host, launcher, panel, frame, badge, isOpen = false, frameReady = false;
  var listeners = {}, unread = 0, baseTitle = d.title;
  var side = left ? "left:20px;" : "right:20px;";

  function css(el, text) { el.style.cssText = text; return el; }
  // The host element lives in the page's DOM: every declaration is !important, because inline
  // !important beats any author rule, even `* { all: unset !important }`.
  function hardCss(el, text) {
    el.style.cssText = text.split(";").filter(Boolean).map(function (d) { return d + " !important"; }).join(";");
    return el;
  }

  function icon(open) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = d.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "28");
    svg.setAttribute("height", "28");
    svg.setAttribute("aria-hidden", "true");
    var path = d.createElementNS(ns, "path");
    path.setAttribute("fill", "#fff");
    path.setAttribute("d", open
      ? "M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 0 0-1.4 1.4l4.9 4.9-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4z"
      : "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z");
    svg.appendChild(path);
    return svg;
  }

  function mount() {
    if (host) return;
    host = d.createElement("div");
    host.id = "frontdesk-root";
    hardCss(host, "all:initial;display:block;position:fixed;z-index:2147483000;bottom:0;" + side +
      "width:0;height:0;transform:none;filter:none;visibility:visible;opacity:1;contain:none;");
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    launcher = d.createElement("button");
    launcher.type = "button";
    launcher.className = "fd-launcher";
    launcher.setAttribute("aria-label", label);
    launcher.setAttribute("aria-expanded", "false");
    css(launcher, "all:initial;position:fixed;bottom:20px;" + side + "width:56px;height:56px;" +
      "border-radius:50%;background:" + color + ";cursor:pointer;display:flex;align-items:center;" +
      "justify-content:center;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483001;");
    launcher.appendChild(icon(false));
    badge = d.createElement("span");
    badge.className = "fd-badge";
    badge.setAttribute("aria-hidden", "true");
    css(badge, "all:initial;position:absolute;top:-4px;" + (left ? "left" : "right") + ":-4px;min-width:20px;height:20px;" +
      "border-radius:10px;background:#c4001d;color:#fff;font:bold 12px/20px system-ui,sans-serif;text-align:center;" +
      "padding:0 5px;box-sizing:border-box;display:none;");
    launcher.appendChild(badge);
    launcher.addEventListener("click", function () { toggle(); });
    launcher.addEventListener("pointerenter", preload);
    launcher.addEventListener("focus", preload);
    panel = d.createElement("div");
    panel.className = "fd-panel";
    css(panel, "all:initial;position:fixed;bottom:88px;" + side + "width:380px;height:600px;" +
      "max-width:calc(100vw - 40px);max-height:calc(100vh - 108px);border-radius:14px;overflow:hidden;" +
      "box-shadow:0 8px 30px rgba(0,0,0,.3);background:#fff;display:none;z-index:2147483001;");
    root.appendChild(panel);
    root.appendChild(launcher);
    (d.body || d.documentElement).appendChild(host);
    if (perf) perf.mark("frontdesk:launcher");
    if (w.matchMedia) {
      var small = w.matchMedia("(max-width: 640px)");
      var fit = function () {
        panel.style.width = small.matches ? "100vw" : "380px";
        panel.style.height = small.matches ? "100%" : "600px";
        panel.style.maxWidth = small.matches ? "none" : "calc(100vw - 40px)";
        panel.style.maxHeight = small.matches ? "none" : "calc(100vh - 108px)";
        panel.style.bottom = small.matches ? "0" : "88px";
        panel.style[left ? "left" : "right"] = small.matches ? "0" : "20px";
        panel.style.borderRadius = small.matches ? "0" : "14px";
      };
      fit();
      if (small.addEventListener) small.addEventListener("change", fit);
    }
  }

  function preload() {
    mount();
    if (frame) return;
    frame = d.createElement("iframe");
    frame.title = "Frontdesk chat";
    frame.src = origin + "/frame/widget?site=" + encodeURIComponent(site) + "&lang=" + encodeURIComponent(lang);
    css(frame, "all:initial;width:100%;height:100%;border:0;display:block;");
    panel.appendChild(frame);
  }

  function setOpen(open) {
    preload();
    isOpen = open;
    panel.style.display = open ? "block" : "none";
    launcher.setAttribute("aria-expanded", String(open));
    launcher.replaceChild(icon(open), launcher.firstChild);
    post({ frontdesk: "visible", open: open && !d.hidden });
    if (open) { frame.focus(); setUnread(0); }
    emit(open ? "open" : "close", {});
  }

  // Messages to the frame always name the Frontdesk origin explicitly.
  var outbox = [];
  function post(msg) {
    if (frame && frameReady) frame.contentWindow.postMessage(msg, origin);
    else outbox.push(msg);
  }

  function setUnread(n) {
    unread = n;
    if (!badge) return;
    badge.textContent = n > 9 ? "9+" : String(n);
    badge.style.display = n > 0 ? "block" : "none";
    launcher.setAttribute("aria-label", n > 0 ? label + " (" + n + ")" : label);
    d.title = n > 0 && (d.hidden || !isOpen) ? "(" + n + ") " + baseTitle : baseTitle;
  }

  function emit(name, data) {
    var fns = listeners[name] || [];
    for (var i = 0; i < fns.length; i++) { try { fns[i](data); } catch (e) { setTimeout(function () { throw e; }); } }
  }

  function toggle() { setOpen(!isOpen); }

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
    } else if (cmd === "identify" && arg && typeof arg === "object") {
      post({ frontdesk: "identify", user: JSON.parse(JSON.stringify(arg)) });
    }
  }
  api.loaded = true;
  api.version = 1;
  w.Frontdesk = api;

  // Only messages from the Frontdesk frame, with an explicit target origin in replies.
  w.addEventListener("message", function (e) {
    if (e.origin !== origin || !frame || e.source !== frame.contentWindow || !e.data) return;
    var m = e.data;
    if (m.frontdesk === "ready") {
      // The app is listening (it loads after the frame's own load event): hand over the page
      // context and whatever was queued for it.
      frameReady = true;
      frame.contentWindow.postMessage({ frontdesk: "init", page: location.href, lang: lang }, origin);
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
