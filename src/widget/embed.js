/* Parley embed, small by hand (4 KB gzipped at most: tests/api/embed_serving.test.js); README "Embedding Parley".
L: 0 bar, 1 e-mail, 2 copy, 3-4 shares, 5 copied, 6-8 Mastodon, 9-11 comments, 12 iframe. N: id -> [label, icon,
intent]. Constructed sheets are CSSOM, which a host's style-src does not block. Messages: our iframes, exact origin.
Thread iframes: at once for containers already parsed, eager unless 2 screens down (lazy waits a frame). */
(()=>{
let d=document,w=window,s=d.currentScript||d.querySelector('script[data-site][src$="/embed.js"]'),D=s.dataset,site=D.site,O=new URL(s.src).origin,l=location,
$=q=>[...d.querySelectorAll(q)],g=p=>d.querySelector(`meta[property="og:${p}"]`)?.content,
U=D.url||d.querySelector('link[rel~=canonical]')?.href||g('url')||(()=>{
 let u=new URL(l.href);
 u.hash='';
 for(let k of[...u.searchParams.keys()])/^(utm_|mc_|fbclid$|gclid$)/.test(k)&&u.searchParams.delete(k);
 return u.href})(),
T=D.title||g('title')||d.title,lang=D.lang||d.documentElement.lang||'en',theme=D.theme||'auto',
L=({de:'Beitrag teilen|E-Mail|Link kopieren|# Mal geteilt|# Mal geteilt|Link kopiert|Deine Mastodon-Instanz|Teilen|Abbrechen|Keine Kommentare|# Kommentar|# Kommentare|Kommentare',
fr:'Partager cet article|E-mail|Copier le lien|# partage|# partages|Lien copié|Votre instance Mastodon|Partager|Annuler|Aucun commentaire|# commentaire|# commentaires|Commentaires',
es:'Compartir esta entrada|Correo|Copiar enlace|# vez compartido|# veces compartido|Enlace copiado|Tu instancia de Mastodon|Compartir|Cancelar|Sin comentarios|# comentario|# comentarios|Comentarios',
pt:'Compartilhar esta publicação|E-mail|Copiar link|# compartilhamento|# compartilhamentos|Link copiado|Sua instância do Mastodon|Compartilhar|Cancelar|Nenhum comentário|# comentário|# comentários|Comentários'
}[lang.slice(0,2).toLowerCase()]||'Share this post|E-mail|Copy link|# share|# shares|Link copied|Your Mastodon instance|Share|Cancel|No comments|# comment|# comments|Comments').split('|'),
P=(i,n,s=n)=>L[n==1?i:i+1].replace('#',s),
N={},
k=x=>x<10?~~(x*10)/10:~~x,K=n=>n<1e3?n:n<1e6?k(n/1e3)+'K':k(n/1e6)+'M',
api=(p,b)=>fetch(`${O}/api/v1/${p}`,b&&{method:'POST',headers:{'Content-Type':'application/json'},body:JSON.stringify(b)}).then(r=>r.json()).catch(()=>0),
qs=a=>new URLSearchParams([['site',site],...a.map(u=>['url',u])]),
pop=u=>w.open(u,'parley-share','noopener,noreferrer,width=600,height=540'),
x='{color:#f1f1f1;background:#1f1f1f;--e:#9e9e9e;--o:#8ab4f8}',
css=new CSSStyleSheet,
fill=t=>t.replace(/{(.)}/g,(_,k)=>encodeURIComponent({u:U,t:T,b:T+' '+U}[k])),
bar=h=>{
 let r=h.attachShadow({mode:'open'}),min,
 all=r.querySelectorAll.bind(r),
 show=j=>j?.networks&&all('[data-n]').forEach(b=>{
  let n=b.dataset.n,v=j.networks[n]||0,on=v>=min;
  b.lastChild.textContent=on?K(v):'';
  b.ariaLabel=N[n][0]+(on?' '+P(3,v,K(v)):'')}),
 count=n=>api('shares',{site,url:U,network:n}).then(show);
 r.adoptedStyleSheets=[css];
 r.innerHTML=`<div class="p ${/^(dark|light)$/.test(theme)?theme:'auto'}" role=group aria-label="${L[0]}"><div>${(D.networks||'x,facebook,linkedin,reddit,whatsapp,telegram,email,copy').split(/[\s,]+/).filter(n=>N[n]).map(n=>`<button data-n=${n}><svg viewBox="0 0 24 24" aria-hidden=true><path d="${N[n][1]}"/></svg>${N[n][0]} <span></span></button>`).join('')}</div><form hidden><label>${L[6]} <input required autocomplete=url></label><button>${L[7]}</button><button type=button>${L[8]}</button></form><p role=status aria-live=polite></p></div>`;
 let[f,p]=all('form,p'),i=f[0],close=()=>{f.hidden=1;all('[data-n=mastodon]')[0].focus()};
 all('[data-n]').forEach(b=>b.onclick=()=>{
  let n=b.dataset.n,t=fill(N[n][2]);
  if(n=='mastodon')return f.hidden=0,i.focus();
  n=='copy'?new Promise(y=>y(navigator.clipboard.writeText(U))).then(()=>p.textContent=L[5],()=>p.textContent=L[2]+': '+U):n=='email'?l.href=t:pop(t);
  count(n)});
 f.onsubmit=e=>{
  e.preventDefault();
  let v=i.value.trim(),a;
  try{a=new URL(/^https?:\/\//i.test(v)?v:'https://'+v).host}catch{}
  if(!a)return i.ariaInvalid=true;
  pop('https://'+a+fill(N.mastodon[2]));
  count('mastodon');
  close()};
 f[2].onclick=close;
 return j=>{min=j?.min_shares;show(j?.items?.[0])}},
deep=/^#comment-\d+$/.test(l.hash)?l.hash:'',
frames=[],
fr=()=>$('[data-parley-thread]').map(e=>{
 if(frames.some(f=>e.contains(f)))return;
 let f=d.createElement('iframe');
 f.title=L[12];
 f.loading=deep||e.getBoundingClientRect().top<2*innerHeight?'eager':'lazy';
 f.src=`${O}/embed/thread?${new URLSearchParams({site,url:U,title:T,origin:l.origin,lang,theme})}${deep}`;
 f.style.cssText='width:100%;border:0;height:320px';
 e.replaceChildren(f);
 frames.push(f)}),
run=()=>{
 fr();
 let bars=$('[data-parley-shares]').map(bar),
 els=$('[data-parley-count]').map(e=>[e,new URL(e.dataset.parleyCount||U,l.href).href]),
 urls=[...new Set(els.map(e=>e[1]))];
 bars[0]&&api('shares?'+qs([U])).then(j=>bars.map(b=>b(j)));
 for(let i=0;i<urls.length;i+=100)api('counts?'+qs(urls.slice(i,i+100))).then(j=>j?.items?.map(c=>els.map(([e,u])=>{
  if(u==c.url)e.textContent=c.comments?P(10,c.comments):L[9]})))};
fr();
'x|X|M4 4h4l12 16h-4zM20 4L4 20|https://x.com/intent/post?url={u}&text={t}|facebook|Facebook|M16 3h-2a4 4 0 0 0-4 4v14M6 11h9|https://www.facebook.com/sharer/sharer.php?u={u}|linkedin|LinkedIn|M5 10v10M5 5v.5M10 20V10m0 5a4 4 0 0 1 8 0v5|https://www.linkedin.com/sharing/share-offsite/?url={u}|reddit|Reddit|M3 15a9 6 0 0 0 18 0a9 6 0 0 0-18 0M12 9l2-6 4 1M9 14v.5m6-.5v.5|https://www.reddit.com/submit?url={u}&title={t}|whatsapp|WhatsApp|M3 21l1.5-5A9 9 0 1 1 8 19.5zM9 9q1 5 6 6|https://wa.me/?text={b}|telegram|Telegram|M21 4L3 11l6 2 2 7 3-4 4 3zM9 13l12-9|https://t.me/share/url?url={u}&text={t}|pinterest|Pinterest|M9 21l3-11m-2.5 5.5A5 5 0 1 1 14 16|https://pinterest.com/pin/create/button/?url={u}&description={t}|bluesky|Bluesky|M12 11Q8 4 3 4q0 7 4 7-4 2 0 6 3 1 5-6 2 7 5 6 4-4 0-6 4 0 4-7-5 0-9 7z|https://bsky.app/intent/compose?text={b}|mastodon|Mastodon|M12 20q-8 0-8-6V9q0-6 8-6t8 6v4q0 4-6 4H9M8 14V9.5a2 2 0 0 1 4 0V12m0-2.5a2 2 0 0 1 4 0V14|/share?text={b}|threads|Threads|M15 12a3 3 0 1 1-6 0a3 3 0 1 1 6 0v1.5a2.5 2.5 0 0 0 5 0V12a8 8 0 1 0-4 7|https://www.threads.net/intent/post?text={b}|hackernews|Hacker News|M4 4h16v16H4zM8 7l4 6 4-6m-4 6v5|https://news.ycombinator.com/submitlink?u={u}&t={t}|email||M3 5h18v14H3zl9 8 9-8|mailto:?subject={t}&body={u}|copy||M9 9h11v11H9zM15 5V4H4v11h1|'
.split('|').forEach((v,i,a)=>i%4||(N[v]=[a[i+1]||L[v=='copy'?2:1],a[i+2],a[i+3]]));
css.replaceSync(`.p{color:#1f1f1f;background:#fff;--e:#6b6b6b;--o:#0b57d0;font:14px system-ui,sans-serif}.dark${x}@media(prefers-color-scheme:dark){.auto${x}}div div,form:not([hidden]),button{display:flex;flex-wrap:wrap;gap:6px;align-items:center}form,p{margin:6px 0 0}button,input{font:inherit;color:inherit;background:inherit;border:1px solid var(--e);border-radius:4px;padding:4px 10px;min-height:32px}:focus-visible{outline:3px solid var(--o);outline-offset:2px}svg{width:18px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}`);
w.addEventListener('message',e=>{
 let m=e.data,f=frames.find(f=>f.contentWindow==e.source);
 if(e.origin!=O||!f||m?.parley!==1)return;
 if(m.type=='height'&&m.height>=0)f.style.height=~~m.height+'px';
 if(m.type=='scroll'&&m.top>=0)w.scrollTo(0,f.getBoundingClientRect().top+w.scrollY+m.top)});
d.readyState=='loading'?d.addEventListener('DOMContentLoaded',run):run()
})();
