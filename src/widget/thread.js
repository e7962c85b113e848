// The comment thread inside the iframe (/embed/thread on Parley's origin, so API calls are same-origin).
// Query: site, url, title, origin, lang, theme; fragment #comment-N. Only the API's sanitised comment HTML goes
// in with innerHTML; everything else is built with DOM APIs and textContent.
'use strict';
(() => {
  // The first page of comments comes with the HTML, or is asked for before anything else is set up: the answer
  // travels while the page is translated and wired up (load() takes it as PENDING). All api() needs is here; it
  // reads the rest afterwards.
  const PAGE = 50;
  const q = new URLSearchParams(location.search);
  const SITE = q.get('site') || '', URL_ = q.get('url') || '', TITLE = (q.get('title') || '').slice(0, 300);
  // The iframe's localStorage, or memory when the browser refuses it (third-party storage blocked).
  const mem = new Map();
  const store = {
    get: (k) => { try { return localStorage.getItem(k) ?? mem.get(k); } catch { return mem.get(k); } },
    set: (k, v) => { mem.set(k, v); try { localStorage.setItem(k, v); } catch {} },
    del: (k) => { mem.delete(k); try { localStorage.removeItem(k); } catch {} },
  };
  const SESSION = 'parley.session';
  let sort = 'oldest';
  const qs = (o) => new URLSearchParams({ site: SITE, url: URL_, ...o });
  // The server put the first page into the HTML (what this request would answer); asked for only without it.
  let inline = null;
  try { inline = JSON.parse(document.getElementById('first-page').textContent); } catch {}
  const firstPage = inline ? Promise.resolve({ data: inline }) : api('GET', `comments?${qs({ sort, limit: PAGE })}`);
  let me = null; // the logged-in user
  // The session check: the first page waits for it
  const meReady = store.get(SESSION) ? api('GET', 'auth/me').then((r) => { me = r.data?.user || null; }) : null;

  // One table per language (missing keys fall back to English); '{}' marks where a value goes.
  const STRINGS = {
    en: {
      comments: 'Comments', loading: 'Loading comments…', sortBy: 'Sort by', oldest: 'Oldest', newest: 'Newest',
      top: 'Top', showAll: 'Show all comments', more: 'Load more comments', leave: 'Leave a Reply',
      leaveTo: 'Leave a Reply to {}', cancel: 'Cancel reply', closed: 'Comments are closed.', login: 'Log in',
      register: 'Register', lost: 'Lost your password?', logout: 'Log out?', loggedAs: 'Logged in as {}.',
      notes: 'Your email address will not be published. Required fields are marked *', comment: 'Comment',
      tags: 'You may use these HTML tags and attributes:', name: 'Name', email: 'Email', website: 'Website',
      notify: 'Notify me of replies by e-mail', preview: 'Preview', post: 'Post Comment',
      loginName: 'User name or e-mail address', password: 'Password', close: 'Close', userName: 'User name',
      userHint: '3 to 30 letters, digits, dots, dashes or underscores; shown with your comments.',
      emailAddr: 'E-mail address',
      sendLink: 'Send the link', awaiting: 'Your comment is awaiting moderation.',
      deleted: 'This comment was deleted.', verified: 'verified', edited: 'edited', like: 'Like', dislike: 'Dislike',
      reply: 'Reply', edit: 'Edit', del: 'Delete', save: 'Save', cancelEdit: 'Cancel',
      editLabel: 'Edit your comment', delAsk: 'Delete this comment?', delYes: 'Yes, delete it',
      posted: 'Comment posted.', updated: 'Comment updated.', removed: 'Comment deleted.',
      loggedOut: 'You are logged out.', ended: 'Your session ended; log in again.',
      required: 'Please fill in this field.', badEmail: 'Enter a valid e-mail address.',
      badUrl: 'Enter a web address that starts with http:// or https://.',
      badName: 'Enter your name (at most 100 characters).', badBody: 'Write your comment (at most 10,000 characters).',
      duplicate: 'You already posted this comment here.', locked: 'This thread is closed for new comments.',
      forbidden: 'You may not do this.', editOver: 'This comment can no longer be changed.',
      notFound: 'That comment is not available.',
      network: 'The server could not be reached; check your connection.',
      server: 'Something went wrong on our side. Please try again in a moment.',
      tooMany: 'Too many requests; try again in {} s.', tooManyLater: 'Too many requests; try again later.',
      badLogin: 'The login or the password is wrong.',
      unverified: 'Verify your e-mail address first: follow the link in the mail we sent.',
      resend: 'Send a new link', registered: 'Check your mail to finish creating the account.',
      forgot: 'Check your mail: if the address has an account, we sent it a link.',
      count: (n) => (n ? (n === 1 ? '1 comment' : `${n} comments`) : 'No comments yet'),
    },
    de: {
      comments: 'Kommentare', loading: 'Kommentare werden geladen …', sortBy: 'Sortieren nach', oldest: 'Älteste',
      newest: 'Neueste', top: 'Beste', showAll: 'Alle Kommentare anzeigen', more: 'Weitere Kommentare laden',
      leave: 'Schreibe einen Kommentar', leaveTo: 'Schreibe eine Antwort an {}', cancel: 'Antworten abbrechen',
      closed: 'Die Kommentarfunktion ist geschlossen.', login: 'Anmelden', register: 'Registrieren',
      lost: 'Passwort vergessen?', logout: 'Abmelden?', loggedAs: 'Angemeldet als {}.',
      notes: 'Deine E-Mail-Adresse wird nicht veröffentlicht. Erforderliche Felder sind mit * markiert',
      comment: 'Kommentar', tags: 'Du kannst folgende HTML-Tags und -Attribute verwenden:', name: 'Name',
      email: 'E-Mail', website: 'Website', notify: 'Benachrichtige mich per E-Mail über Antworten',
      preview: 'Vorschau', post: 'Kommentar abschicken', loginName: 'Benutzername oder E-Mail-Adresse',
      password: 'Passwort', close: 'Schließen', userName: 'Benutzername',
      userHint: '3 bis 30 Buchstaben, Ziffern, Punkte, Binde- oder Unterstriche; steht bei deinen Kommentaren.',
      emailAddr: 'E-Mail-Adresse',
      sendLink: 'Link senden', awaiting: 'Dein Kommentar muss noch freigegeben werden.',
      deleted: 'Dieser Kommentar wurde gelöscht.', verified: 'verifiziert', edited: 'bearbeitet',
      like: 'Gefällt mir', dislike: 'Gefällt mir nicht', reply: 'Antworten', edit: 'Bearbeiten', del: 'Löschen',
      save: 'Speichern', cancelEdit: 'Abbrechen', editLabel: 'Deinen Kommentar bearbeiten',
      delAsk: 'Diesen Kommentar löschen?', delYes: 'Ja, löschen', posted: 'Kommentar abgeschickt.',
      updated: 'Kommentar geändert.', removed: 'Kommentar gelöscht.', loggedOut: 'Du bist abgemeldet.',
      ended: 'Deine Sitzung ist abgelaufen; melde dich erneut an.', required: 'Bitte fülle dieses Feld aus.',
      badEmail: 'Gib eine gültige E-Mail-Adresse ein.',
      badUrl: 'Gib eine Webadresse ein, die mit http:// oder https:// beginnt.',
      badName: 'Gib deinen Namen ein (höchstens 100 Zeichen).',
      badBody: 'Schreibe deinen Kommentar (höchstens 10.000 Zeichen).',
      duplicate: 'Diesen Kommentar hast du hier schon geschrieben.',
      locked: 'Hier können keine Kommentare mehr geschrieben werden.', forbidden: 'Das ist nicht erlaubt.',
      editOver: 'Dieser Kommentar kann nicht mehr geändert werden.',
      notFound: 'Dieser Kommentar ist nicht verfügbar.',
      network: 'Der Server ist nicht erreichbar; prüfe deine Verbindung.',
      server: 'Bei uns ist etwas schiefgegangen. Bitte versuche es gleich noch einmal.',
      tooMany: 'Zu viele Anfragen; versuche es in {} s noch einmal.',
      tooManyLater: 'Zu viele Anfragen; versuche es später noch einmal.',
      badLogin: 'Benutzername oder Passwort ist falsch.',
      unverified: 'Bestätige zuerst deine E-Mail-Adresse: Folge dem Link in unserer Mail.',
      resend: 'Neuen Link anfordern', registered: 'Sieh in dein Postfach, um das Konto fertig einzurichten.',
      forgot: 'Sieh in dein Postfach: Gehört die Adresse zu einem Konto, haben wir ihr einen Link geschickt.',
      count: (n) => (n ? (n === 1 ? '1 Kommentar' : `${n} Kommentare`) : 'Noch keine Kommentare'),
    },
    fr: {
      comments: 'Commentaires', loading: 'Chargement des commentaires…', sortBy: 'Trier par',
      oldest: 'Plus anciens', newest: 'Plus récents', top: 'Meilleurs', showAll: 'Afficher tous les commentaires',
      more: 'Charger plus de commentaires', leave: 'Laisser un commentaire', leaveTo: 'Répondre à {}',
      cancel: 'Annuler la réponse', closed: 'Les commentaires sont fermés.', login: 'Se connecter',
      register: 'S’inscrire', lost: 'Mot de passe oublié ?', logout: 'Se déconnecter ?',
      loggedAs: 'Connecté en tant que {}.',
      notes: 'Votre adresse e-mail ne sera pas publiée. Les champs obligatoires sont indiqués avec *',
      comment: 'Commentaire', tags: 'Vous pouvez utiliser ces balises et attributs HTML :', name: 'Nom',
      email: 'E-mail', website: 'Site web', notify: 'M’avertir des réponses par e-mail', preview: 'Aperçu',
      post: 'Publier le commentaire', loginName: 'Identifiant ou adresse e-mail', password: 'Mot de passe',
      close: 'Fermer', userName: 'Identifiant',
      userHint: '3 à 30 lettres, chiffres, points, tirets ou tirets bas ; affiché avec vos commentaires.',
      emailAddr: 'Adresse e-mail',
      sendLink: 'Envoyer le lien', awaiting: 'Votre commentaire est en attente de modération.',
      deleted: 'Ce commentaire a été supprimé.', verified: 'vérifié', edited: 'modifié', like: 'J’aime',
      dislike: 'Je n’aime pas', reply: 'Répondre', edit: 'Modifier', del: 'Supprimer', save: 'Enregistrer',
      cancelEdit: 'Annuler', editLabel: 'Modifier votre commentaire', delAsk: 'Supprimer ce commentaire ?',
      delYes: 'Oui, le supprimer', posted: 'Commentaire envoyé.', updated: 'Commentaire modifié.',
      removed: 'Commentaire supprimé.', loggedOut: 'Vous êtes déconnecté.',
      ended: 'Votre session a expiré ; reconnectez-vous.', required: 'Veuillez remplir ce champ.',
      badEmail: 'Saisissez une adresse e-mail valide.',
      badUrl: 'Saisissez une adresse web commençant par http:// ou https://.',
      badName: 'Saisissez votre nom (100 caractères au plus).',
      badBody: 'Écrivez votre commentaire (10 000 caractères au plus).',
      duplicate: 'Vous avez déjà publié ce commentaire ici.',
      locked: 'Cette discussion n’accepte plus de commentaires.', forbidden: 'Vous ne pouvez pas faire cela.',
      editOver: 'Ce commentaire ne peut plus être modifié.', notFound: 'Ce commentaire n’est pas disponible.',
      network: 'Le serveur est injoignable ; vérifiez votre connexion.',
      server: 'Une erreur s’est produite de notre côté. Réessayez dans un instant.',
      tooMany: 'Trop de requêtes ; réessayez dans {} s.', tooManyLater: 'Trop de requêtes ; réessayez plus tard.',
      badLogin: 'L’identifiant ou le mot de passe est incorrect.',
      unverified: 'Confirmez d’abord votre adresse e-mail : suivez le lien du message que nous avons envoyé.',
      resend: 'Recevoir un nouveau lien',
      registered: 'Consultez vos e-mails pour terminer la création du compte.',
      forgot: 'Consultez vos e-mails : si cette adresse a un compte, nous lui avons envoyé un lien.',
      count: (n) => (n ? (n === 1 ? '1 commentaire' : `${n} commentaires`) : 'Aucun commentaire pour l’instant'),
    },
    es: {
      comments: 'Comentarios', loading: 'Cargando comentarios…', sortBy: 'Ordenar por', oldest: 'Más antiguos',
      newest: 'Más recientes', top: 'Mejor valorados', showAll: 'Mostrar todos los comentarios',
      more: 'Cargar más comentarios', leave: 'Deja una respuesta', leaveTo: 'Responder a {}',
      cancel: 'Cancelar la respuesta', closed: 'Los comentarios están cerrados.', login: 'Acceder',
      register: 'Registrarse', lost: '¿Has olvidado tu contraseña?', logout: '¿Salir?',
      loggedAs: 'Conectado como {}.',
      notes: 'Tu dirección de correo electrónico no será publicada. Los campos obligatorios están marcados con *',
      comment: 'Comentario', tags: 'Puedes usar las siguientes etiquetas y atributos HTML:', name: 'Nombre',
      email: 'Correo electrónico', website: 'Web', notify: 'Avisarme de las respuestas por correo electrónico',
      preview: 'Vista previa', post: 'Publicar el comentario', loginName: 'Nombre de usuario o correo electrónico',
      password: 'Contraseña', close: 'Cerrar', userName: 'Nombre de usuario',
      userHint: 'De 3 a 30 letras, cifras, puntos, guiones o guiones bajos; se ve junto a tus comentarios.',
      emailAddr: 'Correo electrónico',
      sendLink: 'Enviar el enlace', awaiting: 'Tu comentario está pendiente de moderación.',
      deleted: 'Este comentario fue eliminado.', verified: 'verificado', edited: 'editado', like: 'Me gusta',
      dislike: 'No me gusta', reply: 'Responder', edit: 'Editar', del: 'Eliminar', save: 'Guardar',
      cancelEdit: 'Cancelar', editLabel: 'Edita tu comentario', delAsk: '¿Eliminar este comentario?',
      delYes: 'Sí, eliminarlo', posted: 'Comentario enviado.', updated: 'Comentario actualizado.',
      removed: 'Comentario eliminado.', loggedOut: 'Has cerrado la sesión.',
      ended: 'Tu sesión ha caducado; vuelve a acceder.', required: 'Rellena este campo.',
      badEmail: 'Escribe una dirección de correo electrónico válida.',
      badUrl: 'Escribe una dirección web que empiece por http:// o https://.',
      badName: 'Escribe tu nombre (100 caracteres como máximo).',
      badBody: 'Escribe tu comentario (10.000 caracteres como máximo).',
      duplicate: 'Ya has publicado este comentario aquí.', locked: 'Esta conversación ya no admite comentarios.',
      forbidden: 'No puedes hacer esto.', editOver: 'Este comentario ya no se puede cambiar.',
      notFound: 'Ese comentario no está disponible.',
      network: 'No se pudo contactar con el servidor; comprueba tu conexión.',
      server: 'Algo ha fallado por nuestra parte. Vuelve a intentarlo en un momento.',
      tooMany: 'Demasiadas solicitudes; vuelve a intentarlo dentro de {} s.',
      tooManyLater: 'Demasiadas solicitudes; vuelve a intentarlo más tarde.',
      badLogin: 'El nombre de usuario o la contraseña no son correctos.',
      unverified: 'Primero confirma tu correo electrónico: sigue el enlace del mensaje que te enviamos.',
      resend: 'Pedir un enlace nuevo', registered: 'Revisa tu correo para terminar de crear la cuenta.',
      forgot: 'Revisa tu correo: si la dirección tiene una cuenta, le hemos enviado un enlace.',
      count: (n) => (n ? (n === 1 ? '1 comentario' : `${n} comentarios`) : 'Todavía no hay comentarios'),
    },
    pt: {
      comments: 'Comentários', loading: 'Carregando comentários…', sortBy: 'Ordenar por', oldest: 'Mais antigos',
      newest: 'Mais recentes', top: 'Mais votados', showAll: 'Mostrar todos os comentários',
      more: 'Carregar mais comentários', leave: 'Deixe um comentário', leaveTo: 'Responder a {}',
      cancel: 'Cancelar resposta', closed: 'Os comentários estão fechados.', login: 'Acessar',
      register: 'Registrar', lost: 'Perdeu a senha?', logout: 'Sair?', loggedAs: 'Conectado como {}.',
      notes: 'O seu endereço de e-mail não será publicado. Campos obrigatórios são marcados com *',
      comment: 'Comentário', tags: 'Você pode usar estas tags e atributos HTML:', name: 'Nome', email: 'E-mail',
      website: 'Site', notify: 'Avise-me sobre respostas por e-mail', preview: 'Pré-visualizar',
      post: 'Publicar comentário', loginName: 'Nome de usuário ou endereço de e-mail', password: 'Senha',
      close: 'Fechar', userName: 'Nome de usuário',
      userHint: 'De 3 a 30 letras, algarismos, pontos, hifens ou sublinhados; aparece nos seus comentários.',
      emailAddr: 'Endereço de e-mail',
      sendLink: 'Enviar o link', awaiting: 'O seu comentário está aguardando moderação.',
      deleted: 'Este comentário foi excluído.', verified: 'verificado', edited: 'editado', like: 'Gostei',
      dislike: 'Não gostei', reply: 'Responder', edit: 'Editar', del: 'Excluir', save: 'Salvar',
      cancelEdit: 'Cancelar', editLabel: 'Edite o seu comentário', delAsk: 'Excluir este comentário?',
      delYes: 'Sim, excluir', posted: 'Comentário enviado.', updated: 'Comentário atualizado.',
      removed: 'Comentário excluído.', loggedOut: 'Você saiu.', ended: 'A sua sessão terminou; acesse novamente.',
      required: 'Preencha este campo.', badEmail: 'Digite um endereço de e-mail válido.',
      badUrl: 'Digite um endereço web que comece com http:// ou https://.',
      badName: 'Digite o seu nome (no máximo 100 caracteres).',
      badBody: 'Escreva o seu comentário (no máximo 10.000 caracteres).',
      duplicate: 'Você já publicou este comentário aqui.', locked: 'Esta conversa não aceita mais comentários.',
      forbidden: 'Você não pode fazer isso.', editOver: 'Este comentário não pode mais ser alterado.',
      notFound: 'Esse comentário não está disponível.',
      network: 'Não foi possível contatar o servidor; verifique a sua conexão.',
      server: 'Algo deu errado do nosso lado. Tente novamente em instantes.',
      tooMany: 'Muitas solicitações; tente novamente em {} s.',
      tooManyLater: 'Muitas solicitações; tente novamente mais tarde.',
      badLogin: 'O nome de usuário ou a senha estão incorretos.',
      unverified: 'Confirme primeiro o seu e-mail: siga o link da mensagem que enviamos.',
      resend: 'Pedir um novo link', registered: 'Verifique o seu e-mail para concluir a criação da conta.',
      forgot: 'Verifique o seu e-mail: se o endereço tiver uma conta, enviamos um link para ele.',
      count: (n) => (n ? (n === 1 ? '1 comentário' : `${n} comentários`) : 'Ainda não há comentários'),
    },
  };

  // Edit and Delete are offered until the site's edit window (thread.edit_window_s) ends; each remembered edit
  // token keeps its end (x; entries from before x existed: 15 minutes after c).
  const until = (e) => e?.x ?? (e?.c ?? 0) + 15 * 60e3;
  const FIRST = 5; // comments of a page painted before the rest are built (more than the iframe's first 320 px)
  const doc = document, root = doc.documentElement;
  const $ = (id) => doc.getElementById(id);
  const base = (q.get('lang') || root.lang).toLowerCase().split(/[-_]/)[0];
  const LANG = STRINGS[base] ? base : 'en';
  const S = { ...STRINGS.en, ...STRINGS[LANG] };
  const fill = (s, v) => s.replace('{}', v);
  const theme = q.get('theme');
  root.lang = LANG;
  root.dataset.theme = theme === 'light' || theme === 'dark' ? theme : 'auto';
  doc.title = S.comments;
  for (const e of doc.querySelectorAll('[data-t]')) {
    const t = S[e.dataset.t];
    if (e.textContent !== t) e.textContent = t; // the HTML is in English: no needless changes to the DOM
  }

  // The host page is told our height at its claimed origin, only if that is one of <html data-origins>.
  const HOST = (root.dataset.origins || '').split(' ').includes(q.get('origin')) ? q.get('origin') : null;
  const tell = (m) => HOST && parent !== window && parent.postMessage({ parley: 1, ...m }, HOST);
  let height = 0;
  // Measuring forces a layout, so only when there is a host to tell (the ResizeObserver calls it after layout).
  const sendHeight = () => {
    if (!HOST) return;
    const h = Math.ceil(doc.body.getBoundingClientRect().height);
    if (h !== height) tell({ type: 'height', height: (height = h) });
  };
  if (HOST) new ResizeObserver(sendHeight).observe(doc.body);

  const json = (k) => { try { return JSON.parse(store.get(k)); } catch { return null; } };
  const VOTES = `parley.votes.${SITE}.${URL_}`;
  const editKey = (id) => `parley.edit.${SITE}.${URL_}.${id}`;
  const votes = json(VOTES) || {};
  try {
    for (let i = localStorage.length; i--;) {
      const k = localStorage.key(i);
      if (k.startsWith('parley.edit.') && !(Date.now() < until(json(k)))) store.del(k);
    }
  } catch {}

  let next = null, thread = {}, formToken = '', tokenAt = 0, parentId = 0;
  let shown = 0; // pages that replaced the list: a page still being drawn stops when a newer one replaced it
  const byId = new Map(); // id → the comment as the API sent it
  const list = $('comments'), form = $('form'), respond = $('respond'), preview = $('preview');
  const field = (n) => form.elements.namedItem(n);
  const say = (text) => { $('status').textContent = text; };

  // <TAG class=CLS>TEXT</TAG>; PROPS are set as properties, or as attributes if named role or with a dash.
  const el = (tag, cls, text, props = {}) => {
    const e = doc.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    for (const [k, v] of Object.entries(props)) k === 'role' || k.includes('-') ? e.setAttribute(k, v) : (e[k] = v);
    return e;
  };
  const button = (text, act, cls) => el('button', cls, text, { type: 'button', 'data-act': act });

  // --- the API: resolves to {data} or {error: {code, field, message}}, never rejects ---
  const CODES = { duplicate: 'duplicate', thread_locked: 'locked', forbidden: 'forbidden', unauthorized: 'ended',
    invalid_credentials: 'badLogin', email_unverified: 'unverified', unavailable: 'server', internal: 'server' };
  const FIELDS = { author: 'badName', email: 'badEmail', website: 'badUrl', body: 'badBody' };
  async function api(method, path, body, headers = {}) {
    const token = store.get(SESSION);
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body) headers['Content-Type'] = 'application/json';
    let res, data;
    try {
      res = await fetch(`/api/v1/${path}`, { method, headers, body: body && JSON.stringify(body), cache: 'no-store' });
      data = await res.json();
    } catch {
      if (!res) return { error: { message: S.network } };
    }
    if (res.ok) return { data: data || {} };
    if (res.status === 401 && token) {
      store.del(SESSION); // the session ended
      me = null;
      account();
    }
    if (res.status === 429) {
      const h = res.headers.get('Retry-After');
      const s = Number.isFinite(+h) ? +h : (Date.parse(h) - Date.now()) / 1000;
      return { error: { code: 'rate_limited', message: s > 0 ? fill(S.tooMany, Math.ceil(s)) : S.tooManyLater } };
    }
    const e = data?.error || {};
    const key = CODES[e.code] || (e.code === 'invalid' && FIELDS[e.field]);
    return { error: { code: e.code, field: e.field, message: key ? S[key] : e.message || S.server } };
  }

  // --- times: "5 minutes ago", the exact time on hover ---
  // Creating Intl's formatters takes ~45 ms in a fresh frame (measured by tests/bench/browser.js), so the first
  // comments are painted without their times and times() writes them right after; later ones get them at once.
  let rtf = null, dtf = null;
  const fmt = () => {
    rtf ||= new Intl.RelativeTimeFormat(LANG, { numeric: 'auto' });
    dtf ||= new Intl.DateTimeFormat(LANG, { dateStyle: 'long', timeStyle: 'short' });
  };
  const UNITS = { year: 31536e3, month: 2592e3, week: 604800, day: 86400, hour: 3600, minute: 60 };
  function ago(iso) {
    fmt();
    const s = (Date.parse(iso) - Date.now()) / 1000;
    for (const [u, n] of Object.entries(UNITS)) if (-s >= n) return rtf.format(Math.round(s / n), u);
    return rtf.format(0, 'second');
  }
  const exact = (iso) => { fmt(); return dtf.format(new Date(iso)); };
  // Every time of the list: the relative text, the exact time on hover (also of "edited").
  function times() {
    fmt();
    for (const t of list.querySelectorAll('time')) {
      t.textContent = ago(t.dateTime);
      t.title = exact(t.dateTime);
    }
    for (const e of list.querySelectorAll('.c-edited[data-at]')) e.title = exact(e.dataset.at);
  }

  // --- rendering ---
  const showCount = () => { $('count').textContent = S.count(thread.count || 0); };

  // Who may change C: {t: edit token} for our recent guest comment, {} for the account's own, or null.
  function editable(c) {
    if (c.status === 'deleted') return null;
    if (me && c.verified && c.author === me.username) return {};
    const e = json(editKey(c.id));
    return Date.now() < until(e) ? e : null;
  }

  function renderComment(c) {
    byId.set(String(c.id), c);
    const li = el('li', 'comment', null, { id: `comment-${c.id}`, 'data-id': c.id });
    const art = el('article', 'c', null, { tabIndex: -1 });
    li.append(art);
    fillComment(art, c);
    if (c.replies?.length) {
      const ol = el('ol', 'children');
      for (const r of c.replies) ol.append(renderComment(r));
      li.append(ol);
    }
    return li;
  }

  function fillComment(art, c) {
    art.replaceChildren();
    art.classList.toggle('pending', c.status === 'pending');
    if (c.status === 'deleted') return art.append(el('p', 'c-deleted', S.deleted));
    const head = el('header', 'c-head');
    if (c.avatar) head.append(el('img', 'avatar', null, { src: c.avatar, alt: '', width: 40, height: 40, loading: 'lazy' }));
    const who = el('span');
    const web = /^https?:\/\//i.test(c.website);
    who.append(el(web ? 'a' : 'b', 'c-author', c.author,
      web ? { href: c.website, rel: 'nofollow ugc noopener noreferrer', target: '_blank' } : {}));
    if (c.verified) who.append(' ', el('span', 'badge', S.verified));
    // The permalink: the host page, which passes the fragment on to us.
    const page = /^https?:\/\//i.test(URL_) ? URL_.split('#')[0] : '';
    const link = el('a', 'c-date', null, { href: `${page}#comment-${c.id}`, target: '_top' });
    link.append(el('time', null, rtf ? ago(c.created) : '', { dateTime: c.created, title: rtf ? exact(c.created) : '' }));
    const meta = el('span', 'c-meta');
    meta.append(link);
    if (c.edited) meta.append(' · ', el('span', 'c-edited', S.edited, { title: rtf ? exact(c.edited) : '', 'data-at': c.edited }));
    head.append(who, meta);
    art.append(head);
    if (c.status === 'pending') art.append(el('p', 'c-pending', S.awaiting));
    const text = el('div', 'c-text');
    text.innerHTML = c.html; // sanitised by the server
    art.append(text, actions(c));
  }

  // 0 for a top-level comment; counted through the parents shown (one not on this page ends the count).
  const depthOf = (c) => { let d = 0; for (let p = c; p?.parent && d < 20; p = byId.get(String(p.parent))) d++; return d; };

  function actions(c) {
    const bar = el('div', 'c-acts');
    if (c.status === 'approved') {
      for (const v of [1, -1]) {
        const b = button(null, 'vote', 'vote');
        b.dataset.v = v;
        b.setAttribute('aria-pressed', votes[c.id] === v);
        b.append(el('span', null, v > 0 ? '▲' : '▼', { 'aria-hidden': true }), el('span', 'sr', v > 0 ? S.like : S.dislike),
          ' ', el('span', 'n', v > 0 ? c.likes : c.dislikes));
        bar.append(b);
      }
      // At the site's depth limit a reply would join this comment's level, so (as WordPress) no Reply there.
      if (!thread.locked && depthOf(c) + 1 < (thread.max_depth ?? 5)) bar.append(button(S.reply, 'reply', 'link'));
    }
    if (editable(c)) bar.append(button(S.edit, 'edit', 'link'), button(S.del, 'del', 'link'));
    return bar;
  }

  function problem(art, message) {
    let p = art.querySelector('.c-err');
    if (!p) art.append((p = el('p', 'alert c-err', null, { role: 'alert' })));
    p.textContent = message;
  }

  // --- pages of the thread ---
  // Resolves once what is in the DOM has been painted (after 100 ms at the latest: a hidden frame paints nothing).
  const painted = () => new Promise((res) => {
    requestAnimationFrame(() => setTimeout(res));
    setTimeout(res, 100);
  });
  // PENDING: the answer of a request already made for this page (the first one, asked for at the start).
  async function load(cursor, replace, pending) {
    list.setAttribute('aria-busy', true);
    $('more').disabled = true;
    const r = await (pending || api('GET', `comments?${qs({ sort, limit: PAGE, ...(cursor && { cursor }) })}`));
    await meReady;
    $('list-alert').textContent = r.error?.message || '';
    if (r.error) {
      list.setAttribute('aria-busy', false);
      $('more').disabled = false;
      return [];
    }
    const d = r.data;
    thread = d.thread;
    // Keep the first form token (20 h): a token must be a few seconds old.
    if (Date.now() - tokenAt > 72e6) [formToken, tokenAt] = [d.form_token, Date.now()];
    if (replace) {
      moveForm(null);
      list.replaceChildren();
      byId.clear();
      shown++;
    }
    const seq = shown;
    showCount();
    const added = [];
    let waited = false;
    for (const c of d.comments) {
      // The first comments go on screen at once; building and laying out a long page takes a few frames.
      if (added.length === FIRST && !waited) {
        waited = true;
        await painted();
        times();
        if (seq !== shown) return added;
      }
      if ($(`comment-${c.id}`)) continue;
      const li = renderComment(c);
      list.append(li);
      added.push(li);
    }
    list.setAttribute('aria-busy', false);
    $('more').disabled = false;
    next = d.next;
    $('more').hidden = !next;
    $('closed').hidden = !thread.locked;
    form.hidden = thread.locked;
    if (thread.locked) moveForm(null);
    if (!rtf) painted().then(times); // a page of FIRST comments or fewer
    return added;
  }

  // Scrolls to and highlights #comment-ID, loading its page if needed.
  async function goTo(id) {
    if (!$(`comment-${id}`)) {
      const r = await api('GET', `comments/${id}?${qs({ limit: PAGE })}`);
      if (r.error) return say(($('list-alert').textContent = S.notFound));
      sort = $('sort').value = 'oldest';
      await load(r.data.cursor, true);
      $('show-all').hidden = !r.data.cursor;
    }
    const art = $(`comment-${id}`)?.firstElementChild;
    if (!art) return;
    doc.querySelector('.highlight')?.classList.remove('highlight');
    art.classList.add('highlight');
    art.focus({ preventScroll: true });
    sendHeight();
    if (HOST) tell({ type: 'scroll', top: Math.max(0, Math.round(art.getBoundingClientRect().top + scrollY)) });
    else art.scrollIntoView({ block: 'center' });
  }
  const hashId = () => /^#comment-(\d{1,12})$/.exec(location.hash)?.[1];
  addEventListener('hashchange', () => hashId() && goTo(hashId()));

  // --- forms ---
  function fieldError(input, message) {
    const slot = $(`${input.id}-error`);
    if (slot) slot.textContent = message;
    if (message) input.setAttribute('aria-invalid', true);
    else input.removeAttribute('aria-invalid');
  }
  // Checks F in the page's language; false (and focus on it) if a field is bad.
  function check(f) {
    let first = null;
    for (const i of f.querySelectorAll('input:not([type=checkbox],#hp), textarea')) {
      if (i.closest('[hidden]')) continue;
      const v = i.value.trim();
      const m = i.required && !v ? S.required
        : v && i.type === 'email' && !/^[^\s@]+@[^\s@]+$/.test(v) ? S.badEmail
        : v && i.type === 'url' && !/^https?:\/\/\S+$/i.test(v) ? S.badUrl : '';
      fieldError(i, m);
      if (m && !first) first = i;
    }
    first?.focus();
    return !first;
  }
  // A failed call's message: next to its field if shown, else in ALERT.
  const NAMES = { body: 'comment', website: 'url' };
  function failure(f, alert, error) {
    const input = error.field && f.elements.namedItem(NAMES[error.field] || error.field);
    if (input?.id && !input.closest('[hidden]')) {
      fieldError(input, error.message);
      input.focus();
    } else {
      alert.textContent = error.message;
    }
  }
  function clearErrors(f) {
    for (const e of f.querySelectorAll('.error, .alert')) e.textContent = '';
    for (const i of f.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
  }

  // Moves the reply form under LI, or home; returns the comment it left.
  function moveForm(li) {
    const from = parentId ? $(`comment-${parentId}`) : null;
    parentId = li ? +li.dataset.id : 0;
    $('reply-title').textContent = li ? fill(S.leaveTo, byId.get(li.dataset.id).author) : S.leave;
    $('cancel-reply').hidden = !li;
    if (li) li.firstElementChild.after(respond);
    else $('home').append(respond);
    return from;
  }
  $('cancel-reply').onclick = () => moveForm(null)?.querySelector('[data-act=reply]').focus();

  function account() {
    $('guest-bar').hidden = $('guest-fields').hidden = !!me;
    $('user-bar').hidden = !me;
    const [a, b] = S.loggedAs.split('{}');
    $('logged-as').replaceChildren(...(me ? [a, el('b', null, me.username), b] : []));
  }

  field('comment').addEventListener('input', () => { preview.hidden = true; });
  $('preview-btn').onclick = async () => {
    clearErrors(form);
    const body = field('comment');
    if (!body.value.trim()) {
      fieldError(body, S.required);
      return body.focus();
    }
    const r = await api('POST', 'comments/preview', { body: body.value });
    if (r.error) return failure(form, $('form-alert'), r.error);
    $('preview-body').innerHTML = r.data.html; // sanitised, as it would be stored
    preview.hidden = false;
    preview.focus();
  };

  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const submit = $('submit');
    clearErrors(form);
    if (submit.disabled || !check(form)) return;
    const body = { site: SITE, url: URL_, body: field('comment').value, form_token: formToken, hp: field('hp').value,
      notify: field('notify').checked };
    if (TITLE) body.title = TITLE;
    if (parentId) body.parent = parentId;
    if (!me) {
      body.author = field('author').value.trim();
      body.email = field('email').value.trim();
      if (field('url').value.trim()) body.website = field('url').value.trim();
    }
    submit.disabled = true;
    const r = await api('POST', 'comments', body);
    submit.disabled = false;
    if (r.error) {
      if (r.error.code === 'thread_locked') $('closed').hidden = !(form.hidden = thread.locked = true);
      return failure(form, $('form-alert'), r.error);
    }
    const c = r.data.comment;
    if (r.data.edit_token) {
      const x = Date.now() + (thread.edit_window_s ?? 900) * 1e3;
      store.set(editKey(c.id), JSON.stringify({ t: r.data.edit_token, c: Date.now(), x, b: body.body }));
    }
    const li = renderComment(c);
    // c.parent: at the depth limit a reply joins its parent's level
    const parent = c.parent && $(`comment-${c.parent}`);
    let ol = parent ? parent.querySelector(':scope > ol') : list;
    if (!ol) parent.append((ol = el('ol', 'children')));
    if (!parent && sort === 'newest') ol.prepend(li);
    else ol.append(li);
    if (c.status === 'approved') thread.count++;
    showCount();
    field('comment').value = '';
    preview.hidden = true;
    moveForm(null);
    say(c.status === 'pending' ? `${S.posted} ${S.awaiting}` : S.posted);
    li.firstElementChild.focus();
  };

  // --- the buttons of comments ---
  const headersFor = (c) => {
    const t = editable(c)?.t;
    return t ? { 'X-Parley-Edit-Token': t } : {};
  };
  // Edit or Delete too late (or refused): the buttons go.
  function tooLate(art, c, error = { code: 'forbidden' }) {
    if (error.code === 'forbidden' || error.code === 'not_found') {
      store.del(editKey(c.id));
      fillComment(art, c);
      error.message = S.editOver;
    }
    problem(art, error.message);
  }
  list.addEventListener('click', async (ev) => {
    const b = ev.target.closest('button[data-act]');
    const li = b?.closest('li.comment');
    if (!li || li.contains(respond) && respond.contains(b)) return;
    const id = li.dataset.id, c = byId.get(id), art = li.firstElementChild, act = b.dataset.act;
    if (act === 'reply') {
      moveForm(li);
      field('comment').focus();
    } else if (act === 'vote') {
      const v = +b.dataset.v;
      b.disabled = true;
      const r = await api('POST', `comments/${id}/vote`, { site: SITE, url: URL_, value: votes[id] === v ? 0 : v });
      b.disabled = false;
      if (r.error) return problem(art, r.error.message);
      if (r.data.vote) votes[id] = r.data.vote;
      else delete votes[id];
      store.set(VOTES, JSON.stringify(votes));
      Object.assign(c, { likes: r.data.likes, dislikes: r.data.dislikes });
      for (const x of art.querySelectorAll(':scope > .c-acts > .vote')) {
        x.setAttribute('aria-pressed', votes[id] === +x.dataset.v);
        x.lastChild.textContent = x.dataset.v > 0 ? c.likes : c.dislikes;
      }
    } else if (!editable(c) && (act === 'edit' || act === 'del')) {
      tooLate(art, c);
    } else if (act === 'edit') {
      editForm(art, c);
    } else if (act === 'del') {
      const ask = el('p', 'c-ask', null, { role: 'group' });
      ask.append(S.delAsk, ' ', button(S.delYes, 'del-yes', 'danger'), ' ', button(S.cancelEdit, 'del-no', 'secondary'));
      b.parentNode.replaceWith(ask);
      ask.lastChild.focus();
    } else if (act === 'del-no' || act === 'cancel-edit') {
      fillComment(art, c);
      art.querySelector(`[data-act=${act === 'del-no' ? 'del' : 'edit'}]`)?.focus();
    } else if (act === 'del-yes') {
      const r = await api('DELETE', `comments/${id}?${qs()}`, null, headersFor(c));
      if (r.error) return tooLate(art, c, r.error);
      store.del(editKey(id));
      if (c.status === 'approved') thread.count--;
      showCount();
      if (li.contains(respond)) moveForm(null);
      if (li.querySelector(':scope > ol > li')) fillComment(art, Object.assign(c, { status: 'deleted' }));
      else li.remove();
      say(S.removed);
      $('count').focus();
    }
  });

  // The text to edit: as typed, if kept, else the HTML turned back into markup the sanitiser accepts.
  function source(c) {
    const kept = json(editKey(c.id))?.b;
    if (kept != null) return kept;
    const t = doc.createElement('template');
    t.innerHTML = c.html;
    const esc = (s) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
    const walk = (n) => [...n.childNodes].map((k) => {
      if (k.nodeType !== 1) return k.nodeType === 3 ? k.data : '';
      const tag = k.localName, inner = walk(k);
      if (tag === 'br') return '\n';
      if (tag === 'p') return `${inner}\n\n`;
      if (tag === 'a' && k.getAttribute('href') === k.textContent) return inner; // a linked bare URL
      const attrs = [...k.attributes].filter((a) => a.name !== 'rel').map((a) => ` ${a.name}="${esc(a.value)}"`);
      return `<${tag}${attrs.join('')}>${inner}</${tag}>`;
    }).join('');
    return walk(t.content).trim();
  }

  function editForm(art, c) {
    const id = `edit-${c.id}`;
    const f = el('form', 'c-edit', null, { noValidate: true });
    const ta = el('textarea', null, null, { id, name: 'comment', rows: 5, maxLength: 10000, required: true,
      value: source(c), 'aria-describedby': `${id}-error` });
    const alert = el('p', 'alert', null, { role: 'alert' });
    const save = el('button', null, S.save);
    const bar = el('p', 'buttons');
    bar.append(save, ' ', button(S.cancelEdit, 'cancel-edit', 'secondary'));
    f.append(el('label', null, S.editLabel, { htmlFor: id }), ta, el('p', 'error', null, { id: `${id}-error`, role: 'alert' }),
      alert, bar);
    art.querySelector(':scope > .c-text').replaceWith(f);
    art.querySelector(':scope > .c-acts').remove();
    ta.focus();
    f.onsubmit = async (ev) => {
      ev.preventDefault();
      clearErrors(f);
      if (save.disabled || !check(f)) return;
      save.disabled = true;
      const r = await api('PATCH', `comments/${c.id}`, { site: SITE, url: URL_, body: ta.value }, headersFor(c));
      save.disabled = false;
      if (r.error?.code === 'forbidden') return tooLate(art, c, r.error);
      if (r.error) return failure(f, alert, r.error);
      const n = r.data.comment, e = json(editKey(c.id));
      if (e) store.set(editKey(c.id), JSON.stringify({ ...e, b: ta.value }));
      if (c.status === 'approved' && n.status !== 'approved') thread.count--;
      showCount();
      fillComment(art, Object.assign(c, n, { replies: null }));
      say(n.status === 'pending' ? `${S.updated} ${S.awaiting}` : S.updated);
      art.focus();
    };
  }

  // --- sort, load more, show all ---
  $('sort').onchange = () => {
    sort = $('sort').value;
    $('show-all').hidden = true;
    load(null, true);
  };
  $('more').onclick = async () => (await load(next))[0]?.firstElementChild.focus();
  $('show-all').onclick = async () => {
    $('show-all').hidden = true;
    await load(null, true);
    $('count').focus();
  };

  // --- accounts ---
  let opener = null;
  async function openDialog(name, from) {
    // What part of the iframe the reader sees (a first IntersectionObserver report is exact), for placing it.
    const seen = await new Promise((res) => {
      const io = new IntersectionObserver(([e]) => res(e.intersectionRect, io.disconnect()));
      io.observe(root);
    });
    for (const d of doc.querySelectorAll('dialog[open]')) d.close();
    const d = $(`dlg-${name}`), f = d.firstElementChild;
    clearErrors(f);
    f.reset();
    for (const x of f.querySelectorAll('.fields, [type=submit]')) x.hidden = false;
    f.querySelector('.done')?.replaceChildren();
    if (!from.closest('dialog')) opener = from;
    d.showModal();
    // The iframe is as tall as its content: centre the dialog in the part on screen, not in the whole iframe.
    const h = d.offsetHeight;
    const top = seen.height ? seen.top + Math.max(8, (seen.height - h) / 2) : from.getBoundingClientRect().top;
    d.style.top = `${Math.max(8, top)}px`;
    $('parley').style.minHeight = `${top + h + 16}px`;
    f.querySelector('input').focus();
  }
  for (const d of doc.querySelectorAll('dialog')) {
    d.onclose = () => {
      if (doc.querySelector('dialog[open]')) return;
      $('parley').style.minHeight = '';
      opener?.focus();
    };
  }
  $('parley').addEventListener('click', (ev) => {
    const b = ev.target.closest('[data-open], [data-close]');
    if (b?.dataset.open) openDialog(b.dataset.open, b);
    else b?.closest('dialog').close();
  });

  function done(f, text) {
    for (const x of f.querySelectorAll('.fields, [type=submit]')) x.hidden = true;
    const p = f.querySelector('.done');
    p.textContent = text;
    p.focus();
  }
  const SENDS = {
    async login(f, v) {
      const r = await api('POST', 'auth/login', { login: v.login.trim(), password: v.password });
      const a = f.querySelector('.alert');
      if (r.error) failure(f, a, r.error);
      if (r.error?.code === 'email_unverified') {
        a.append(' ', el('a', null, S.resend, { href: '/account/verify', target: '_blank', rel: 'noopener' }));
      }
      if (r.error) return;
      store.set(SESSION, r.data.token);
      me = r.data.user;
      f.parentNode.close();
      account();
      say(fill(S.loggedAs, me.username));
      await load(null, true);
      field('comment').focus();
    },
    async register(f, v) {
      const r = await api('POST', 'auth/register', { username: v.username.trim(), email: v.email.trim(), password: v.password });
      if (r.error) return failure(f, f.querySelector('.alert'), r.error);
      done(f, S.registered);
    },
    async lost(f, v) {
      const r = await api('POST', 'auth/password/forgot', { email: v.email.trim() });
      if (r.error) return failure(f, f.querySelector('.alert'), r.error);
      done(f, S.forgot);
    },
  };
  for (const f of doc.querySelectorAll('dialog form')) {
    f.onsubmit = async (ev) => {
      ev.preventDefault();
      const b = f.querySelector('[type=submit]');
      clearErrors(f);
      if (b.disabled || !check(f)) return;
      b.disabled = true;
      await SENDS[f.dataset.form](f, Object.fromEntries(new FormData(f)));
      b.disabled = false;
    };
  }
  $('logout').onclick = async () => {
    await api('POST', 'auth/logout');
    store.del(SESSION);
    me = null;
    account();
    say(S.loggedOut);
    await load(null, true);
    $('guest-bar').firstElementChild.focus();
  };

  // --- start ---
  setInterval(() => {
    times();
    // Edit and Delete go when the window closes
    for (const bar of list.querySelectorAll('.c-acts')) {
      const c = byId.get(bar.closest('li').dataset.id);
      if (bar.querySelector('[data-act=edit]') && !editable(c)) bar.replaceWith(actions(c));
    }
  }, 30e3);

  load(null, true, firstPage).then(async () => {
    account();
    if (hashId()) await goTo(hashId());
  });
})();
