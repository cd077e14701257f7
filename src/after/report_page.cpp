// The fixed style and script of `zgseg report` (see report.hpp). No inline
// event handlers or style attributes: the page's CSP allows exactly these two
// blocks by hash. Labels are untrusted text and only ever set via textContent.
#include "after/report.hpp"

namespace zgseg::after {

const char* const kReportCss = R"CSS(
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;font:14px/1.4 system-ui,sans-serif;color:#222;background:#f6f6f4}
header{position:sticky;top:0;z-index:2;display:flex;gap:1em;align-items:center;padding:.6em 1em;background:#fff;border-bottom:1px solid #ddd}
h1{font-size:1.1em;margin:0}
h1 small{font-weight:normal;color:#777}
#filter{flex:0 1 20em;padding:.35em .5em;font:inherit}
#count{color:#555}
#summary{padding:.6em 1em;background:#fff;border-bottom:1px solid #ddd}
#summary .labels button{margin:.15em;border:1px solid #ccc;border-radius:1em;background:#fafafa;padding:.1em .6em;cursor:pointer;font:inherit}
#summary .failed{color:#a00}
#grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:.8em;padding:1em}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;overflow:hidden;content-visibility:auto;contain-intrinsic-size:240px 300px}
.card img{display:block;width:100%;height:auto;background:#eee}
.card .name{padding:.3em .5em 0;font-weight:600;word-break:break-all}
ul.labels{list-style:none;margin:0;padding:.3em .5em .5em;display:flex;flex-wrap:wrap;gap:.25em}
ul.labels li{background:#eef;border-radius:3px;padding:0 .35em}
ul.labels li.match{background:#fd5}
#detail{padding:1em}
#detail .stage{position:relative;display:inline-block;max-width:100%}
#detail .stage img{display:block;max-width:100%;height:auto}
#detail .stage canvas{position:absolute;left:0;top:0;width:100%;height:100%}
#detail table{border-collapse:collapse;margin-top:.8em;background:#fff}
#detail td,#detail th{border:1px solid #ddd;padding:.2em .6em;text-align:left}
#detail tr.seg{cursor:pointer}
#detail tr.seg.on{background:#fd5}
#detail td.num{text-align:right;font-variant-numeric:tabular-nums}
)CSS";

const char* const kReportJs = R"JS(
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('zgseg-data').textContent);
  var body = document.body;
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  // Any request the CSP blocks is counted where a test can read it.
  var violations = 0;
  body.setAttribute('data-csp-violations', '0');
  document.addEventListener('securitypolicyviolation', function () {
    body.setAttribute('data-csp-violations', String(++violations));
  });

  // ---- COCO RLE (pycocotools' compressed string), decoded on demand ----
  function rleCounts(s) {
    var counts = [], p = 0;
    while (p < s.length) {
      var x = 0, k = 0, more = 1, c;
      while (more) {
        c = s.charCodeAt(p) - 48;
        x |= (c & 0x1f) << (5 * k);
        more = c & 0x20; p++; k++;
        if (!more && (c & 0x10)) x |= -1 << (5 * k);
      }
      if (counts.length > 2) x += counts[counts.length - 2];
      counts.push(x);
    }
    return counts;
  }
  // -> Uint8Array(w*h) row-major, 1 inside (RLE runs are column-major).
  function rleDecode(s, w, h) {
    var m = new Uint8Array(w * h), counts = rleCounts(s), t = 0;
    for (var i = 0; i < counts.length; i++) {
      if (i % 2) for (var j = t; j < t + counts[i]; j++) m[(j % h) * w + ((j / h) | 0)] = 1;
      t += counts[i];
    }
    return m;
  }

  // ---- summary ----
  var nseg = 0, freq = {};
  D.images.forEach(function (im) {
    im.s.forEach(function (s) { nseg++; freq[s[1]] = (freq[s[1]] || 0) + 1; });
  });
  function renderSummary() {
    var sec = $('summary');
    sec.appendChild(el('p', 'totals', D.images.length + ' images, ' + nseg + ' segments, ' +
      Object.keys(freq).length + ' distinct labels, ' + D.failures.length + ' failed images'));
    var top = Object.keys(freq).sort(function (a, b) { return freq[b] - freq[a] || (a < b ? -1 : 1); }).slice(0, 30);
    var labels = el('div', 'labels');
    labels.appendChild(el('span', null, 'Most frequent labels: '));
    top.forEach(function (l) {
      var b = el('button', null, l + ' (' + freq[l] + ')');
      b.addEventListener('click', function () { $('filter').value = l; applyFilter(true); });
      labels.appendChild(b);
    });
    sec.appendChild(labels);
    if (D.failures.length) {
      sec.appendChild(el('p', 'failed', 'Failed images (from the batch summary):'));
      var ul = el('ul', 'failures');
      D.failures.forEach(function (f) { ul.appendChild(el('li', 'failed', (f.input || '?') + ': ' + (f.error || ''))); });
      sec.appendChild(ul);
    }
  }

  // ---- grid of overlays ----
  // The first cards are built at once, the rest in chunks between frames, so
  // a 10,000-image page shows its first screen without waiting for them all.
  var cards = [];
  function addCard(im, frag) {
    var card = el('article', 'card');
    card.setAttribute('data-image', im.n);
    var a = el('a');
    a.href = '#image=' + encodeURIComponent(im.n);
    var img = el('img');
    img.loading = 'lazy';  // before src, or the browser starts loading at once
    img.decoding = 'async';
    img.alt = im.n;
    if (im.w > 0 && im.h > 0) { img.width = 240; img.height = Math.max(1, Math.round(240 * im.h / im.w)); }
    img.addEventListener('load', function () { card.setAttribute('data-overlay', 'loaded'); });
    img.addEventListener('error', function () { card.setAttribute('data-overlay', 'missing'); });
    img.src = im.o;
    a.appendChild(img);
    card.appendChild(a);
    card.appendChild(el('div', 'name', im.n));
    var ul = el('ul', 'labels');
    im.s.forEach(function (s) {
      var li = el('li', 'seg', s[1]);
      li.setAttribute('data-seg', String(s[0]));
      ul.appendChild(li);
    });
    card.appendChild(ul);
    var c = { card: card, items: ul.children, labels: im.s.map(function (s) { return s[1].toLowerCase(); }) };
    filterCard(c, currentQuery());
    frag.appendChild(card);
    cards.push(c);
  }
  function renderGrid(done) {
    var next = 0;
    function chunk(n) {
      var frag = document.createDocumentFragment();
      for (var end = Math.min(D.images.length, next + n); next < end; next++) addCard(D.images[next], frag);
      $('grid').appendChild(frag);
    }
    chunk(300);
    (function more() {
      if (next >= D.images.length) { done(); return; }
      chunk(1000);
      setTimeout(more, 0);
    })();
  }

  function currentQuery() { return $('filter').value.trim().toLowerCase(); }
  // Shows or hides one card for query q; true when shown.
  function filterCard(c, q) {
    var any = !q;
    for (var k = 0; k < c.labels.length; k++) {
      var hit = q !== '' && c.labels[k].indexOf(q) >= 0;
      c.items[k].classList.toggle('match', hit);
      if (hit) any = true;
    }
    c.card.hidden = !any;
    return any;
  }
  function applyFilter(updateHash) {
    var q = currentQuery(), shown = 0;
    cards.forEach(function (c) { if (filterCard(c, q)) shown++; });
    $('count').textContent = shown + ' of ' + D.images.length + ' images';
    body.setAttribute('data-shown', String(shown));
    if (updateHash) history.replaceState(null, '', q ? '#q=' + encodeURIComponent(q) : '#');
  }

  // ---- one image: its segments, with the hovered or clicked mask highlighted ----
  function showDetail(i, segmentId) {
    var im = D.images[i], sec = $('detail');
    sec.replaceChildren();
    sec.hidden = false;
    $('grid').hidden = true;
    $('summary').hidden = true;
    var back = el('a', 'back', '\u2190 all images');
    back.href = '#';
    sec.appendChild(back);
    sec.appendChild(el('h2', null, im.n));
    if (im.p) sec.appendChild(el('p', 'source', 'source: ' + im.p));
    var stage = el('div', 'stage'), img = el('img'), canvas = el('canvas');
    img.src = im.o;
    img.alt = im.n;
    canvas.width = Math.max(1, im.w);
    canvas.height = Math.max(1, im.h);
    stage.appendChild(img);
    stage.appendChild(canvas);
    sec.appendChild(stage);
    var masks = {}, pinned = null, rows = {};
    function mask(s) {
      if (!masks[s[0]]) masks[s[0]] = rleDecode(s[7], im.w, im.h);
      return masks[s[0]];
    }
    function highlight(s) {
      var ctx = canvas.getContext('2d');
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      Object.keys(rows).forEach(function (id) { rows[id].classList.toggle('on', s !== null && String(s[0]) === id); });
      if (s === null) { canvas.removeAttribute('data-highlight'); return; }
      var m = mask(s), data = ctx.createImageData(im.w, im.h), px = data.data, area = 0;
      for (var p = 0; p < m.length; p++) {
        if (m[p]) { area++; px[4 * p] = 255; px[4 * p + 1] = 210; px[4 * p + 2] = 0; px[4 * p + 3] = 120; }
        else { px[4 * p + 3] = 110; }
      }
      ctx.putImageData(data, 0, 0);
      canvas.setAttribute('data-highlight', String(s[0]));
      canvas.setAttribute('data-mask-area', String(area));
    }
    var table = el('table'), head = el('tr');
    ['id', 'label', 'area (px)', 'area %', 'CLIP score', 'tree node', 'depth', 'parent', 'merged'].forEach(function (h) {
      head.appendChild(el('th', null, h));
    });
    table.appendChild(head);
    im.s.forEach(function (s) {
      var tr = el('tr', 'seg'), heap = s[4];
      tr.setAttribute('data-seg', String(s[0]));
      [[s[0], 'num'], [s[1], ''], [s[2], 'num'], [(100 * s[2] / Math.max(1, im.w * im.h)).toFixed(1), 'num'],
       [Number(s[3]).toFixed(4), 'num'], [heap, 'num'], [heap >= 0 ? Math.floor(Math.log2(heap + 1)) : '', 'num'],
       [s[5], 'num'], [s[6] ? 'yes' : 'no', '']].forEach(function (c) { tr.appendChild(el('td', c[1], c[0])); });
      tr.addEventListener('mouseenter', function () { highlight(s); });
      tr.addEventListener('mouseleave', function () { highlight(pinned); });
      tr.addEventListener('click', function () { pinned = pinned === s ? null : s; highlight(pinned); });
      rows[String(s[0])] = tr;
      table.appendChild(tr);
    });
    sec.appendChild(table);
    // Hovering the picture highlights the segment under the pointer.
    canvas.addEventListener('mousemove', function (e) {
      var r = canvas.getBoundingClientRect();
      var x = Math.floor((e.clientX - r.left) * im.w / r.width), y = Math.floor((e.clientY - r.top) * im.h / r.height);
      var hit = null;
      im.s.forEach(function (s) { if (!hit && mask(s)[y * im.w + x]) hit = s; });
      highlight(hit || pinned);
    });
    canvas.addEventListener('mouseleave', function () { highlight(pinned); });
    canvas.addEventListener('click', function () { pinned = canvas.hasAttribute('data-highlight') ? im.s.filter(function (s) {
      return String(s[0]) === canvas.getAttribute('data-highlight'); })[0] : null; });
    if (segmentId !== null) {
      var chosen = im.s.filter(function (s) { return String(s[0]) === segmentId; })[0];
      if (chosen) { pinned = chosen; highlight(chosen); }
    }
    window.scrollTo(0, 0);
  }

  function route() {
    var params = {};
    location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
      var eq = kv.indexOf('=');
      if (eq > 0) params[kv.slice(0, eq)] = decodeURIComponent(kv.slice(eq + 1));
    });
    if (params.image !== undefined) {
      for (var i = 0; i < D.images.length; i++)
        if (D.images[i].n === params.image) { showDetail(i, params.segment === undefined ? null : params.segment); return; }
    }
    $('detail').hidden = true;
    $('detail').replaceChildren();
    $('grid').hidden = false;
    $('summary').hidden = false;
    if (params.q !== undefined) $('filter').value = params.q;
    applyFilter(false);
  }

  renderSummary();
  $('filter').addEventListener('input', function () {
    if (!$('detail').hidden) { location.hash = '#q=' + encodeURIComponent($('filter').value.trim()); return; }
    applyFilter(true);
  });
  window.addEventListener('hashchange', route);
  route();
  body.setAttribute('data-first-screen-ms', String(Math.round(performance.now())));
  renderGrid(function () {
    applyFilter(false);  // the counts, now over every card
    body.setAttribute('data-ready', '1');
    body.setAttribute('data-ready-ms', String(Math.round(performance.now())));  // every card is in the page
  });
})();
)JS";

}  // namespace zgseg::after
