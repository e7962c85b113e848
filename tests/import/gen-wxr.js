// Writes a WordPress WXR file of THREADS posts with PER comments each (every third comment a reply to the one before
// it, so threads nest), for the import speed measurement and the large-file test.
//   node tests/import/gen-wxr.js OUT [THREADS=100] [PER=100] [ORIGIN=https://blog.example]
'use strict';
const fs = require('node:fs');

function generate(out, threads = 100, per = 100, origin = 'https://blog.example') {
  const fd = fs.openSync(out, 'w');
  const w = (s) => fs.writeSync(fd, s);
  w('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/">\n<channel>\n');
  let id = 1;
  const base = Date.UTC(2020, 0, 1);
  for (let t = 1; t <= threads; t++) {
    w(`<item><title>Post ${t}</title><link>${origin}/generated/${t}/</link><wp:post_id>${t}</wp:post_id>\n`);
    for (let c = 0; c < per; c++, id++) {
      const parent = c % 3 === 2 ? id - 1 : 0;
      const d = new Date(base + t * 86400000 + c * 60000).toISOString().replace('T', ' ').slice(0, 19);
      w(`<wp:comment><wp:comment_id>${id}</wp:comment_id><wp:comment_author><![CDATA[Reader ${c % 50}]]></wp:comment_author>` +
        `<wp:comment_author_email>reader${c % 50}@mail.example</wp:comment_author_email>` +
        `<wp:comment_date_gmt>${d}</wp:comment_date_gmt>` +
        `<wp:comment_content><![CDATA[Comment ${id} on post ${t}: some <b>words</b> and a link https://example.org/${id}\n\nA second paragraph.]]></wp:comment_content>` +
        `<wp:comment_approved>${c % 10 === 9 ? '0' : '1'}</wp:comment_approved><wp:comment_type>comment</wp:comment_type>` +
        `<wp:comment_parent>${parent}</wp:comment_parent></wp:comment>\n`);
    }
    w('</item>\n');
  }
  w('</channel>\n</rss>\n');
  fs.closeSync(fd);
  return id - 1;
}

module.exports = { generate };
if (require.main === module) {
  const [out, threads, per, origin] = process.argv.slice(2);
  console.log(generate(out, Number(threads || 100), Number(per || 100), origin || undefined));
}
