// The assistant panel on every page: asks through the JSON API and keeps the
// conversation on the page. Without this script the panel's form opens
// /assistant, which answers the same question the same way.
(function () {
  "use strict";
  var form = document.getElementById("assistant-panel-form");
  if (!form || !window.fetch || !window.JSON) return;
  var input = document.getElementById("assistant-panel-q");
  var log = document.getElementById("assistant-log");
  var key = "cityhall-assistant-session";
  var session = "";
  try { session = window.sessionStorage.getItem(key) || ""; } catch (e) { session = ""; }
  var d = form.dataset;

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }
  function link(href, text, cls) {
    var a = el("a", cls, text);
    a.setAttribute("href", href);
    return a;
  }
  function say(who, text, cls) {
    var box = el("div", cls);
    var p = el("p");
    p.appendChild(el("span", "who", who + ": "));
    p.appendChild(document.createTextNode(text));
    box.appendChild(p);
    log.appendChild(box);
    return box;
  }
  function render(b) {
    var box = el("div", "assistant-a");
    box.setAttribute("data-testid", "assistant-answer");
    box.setAttribute("data-intent", b.intent);
    box.appendChild(el("p", "who", d.bot + ":"));
    var list = null;
    b.answer.split("\n").forEach(function (line) {
      if (line.indexOf("- ") === 0) {
        if (!list) { list = el("ul"); box.appendChild(list); }
        list.appendChild(el("li", null, line.slice(2)));
      } else {
        list = null;
        box.appendChild(el("p", null, line));
      }
    });
    if (b.cards.length) {
      var cards = el("ul", "assistant-cards");
      b.cards.forEach(function (c) {
        var li = el("li");
        li.setAttribute("data-kind", c.kind);
        li.appendChild(link(c.url, c.name));
        if (c.apply_url) {
          li.appendChild(document.createTextNode(" "));
          li.appendChild(link(c.apply_url, d.apply, "button"));
        }
        if (c.kind === "category") {
          li.appendChild(document.createTextNode(" "));
          li.appendChild(link(c.url, d.report, "button"));
        }
        cards.appendChild(li);
      });
      box.appendChild(cards);
    }
    if (b.intent === "out_of_scope") {
      box.appendChild(el("p")).appendChild(
        link("/procedures?q=" + encodeURIComponent(b.question || ""), d.search));
    }
    if (b.citations.length) {
      var src = el("p", "sources", d.sources + ": ");
      b.citations.forEach(function (c, i) {
        if (i) src.appendChild(document.createTextNode("; "));
        src.appendChild(link(c.url, c.title));
      });
      box.appendChild(src);
    }
    log.appendChild(box);
  }
  form.addEventListener("submit", function (ev) {
    var q = input.value.trim();
    ev.preventDefault();
    if (!q) {
      say(d.bot, d.empty, "assistant-a error");
      return;
    }
    say(d.you, q, "assistant-q");
    input.value = "";
    var body = { question: q };
    if (session) body.session = session;
    fetch("/api/v1/assistant/ask", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (b) { return { ok: r.ok, b: b }; });
    }).then(function (res) {
      if (!res.ok) {
        say(d.bot, (res.b.error && res.b.error.message) || d.failed, "assistant-a error");
        return;
      }
      session = res.b.session;
      try { window.sessionStorage.setItem(key, session); } catch (e) { /* private mode */ }
      res.b.question = q;
      render(res.b);
    }).catch(function () {
      say(d.bot, d.failed, "assistant-a error");
    });
  });
})();
