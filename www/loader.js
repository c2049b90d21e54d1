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

  var host, launcher, panel, frame, isOpen = false;
  var side = left ? "left:20px;" : "right:20px;";

  function css(el, text) { el.style.cssText = text; return el; }

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
    css(host, "all:initial;position:fixed;z-index:2147483000;bottom:0;" + side + "width:0;height:0;");
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
    if (open) frame.focus();
  }

  function toggle() { setOpen(!isOpen); }

  function api(cmd) {
    if (cmd === "open") setOpen(true);
    else if (cmd === "close") setOpen(false);
    else if (cmd === "toggle") toggle();
  }
  api.loaded = true;
  api.version = 1;
  w.Frontdesk = api;

  // Only messages from the Frontdesk frame, with an explicit target origin in replies.
  w.addEventListener("message", function (e) {
    if (e.origin !== origin || !frame || e.source !== frame.contentWindow) return;
    if (e.data && e.data.frontdesk === "close") setOpen(false);
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
})();
