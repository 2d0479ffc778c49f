/*
 * latchkey login demo: the reference server's API in cookie mode, from a browser.
 *
 * - The tokens live in HttpOnly cookies that this script cannot read; fetch sends them
 *   (credentials: 'same-origin'). No Authorization header is ever sent.
 * - Unsafe methods carry X-CSRF-TOKEN, copied from the readable CSRF cookie: csrf_refresh_token for
 *   /auth/refresh, csrf_access_token for everything else (double submit, checked against the token).
 * - The claims shown are decoded from the access_token of the last JSON token response.
 * - A request refused with 401 TOKEN_EXPIRED (or TOKEN_MISSING once a persistent access cookie ran
 *   out) while a refresh cookie exists is retried once after POST /auth/refresh.
 * - A login whose cookies did not come back (Secure cookies on a plain-HTTP page that is not
 *   localhost: the browser drops them, and the next call answers TOKEN_MISSING) shows why.
 * - Links from mail land here: `#reset-password=TOKEN` opens the new-password form,
 *   `#verify-email=TOKEN` confirms the address at once. The token leaves the address bar first.
 *
 * Plain ES module, no inline code and no innerHTML, so a strict Content-Security-Policy applies.
 */

const CSRF_HEADER = 'X-CSRF-TOKEN'
const CSRF_ACCESS = 'csrf_access_token'
const CSRF_REFRESH = 'csrf_refresh_token'
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
/** Routes never retried after a refresh: they take no access token, or are the refresh itself. */
const NO_RETRY = new Set([
  '/auth/signup',
  '/auth/login',
  '/auth/refresh',
  '/auth/password/forgot',
  '/auth/password/reset',
  '/auth/email/verify',
  '/auth/email/resend',
])
const RETRY_CODES = new Set(['TOKEN_EXPIRED', 'TOKEN_MISSING'])
const REMEMBER_KEY = 'latchkey-demo:remember'
const LOG_LIMIT = 60

/** @param {string} id */
function byId(id) {
  const element = document.getElementById(id)
  if (!element) throw new Error(`#${id} is missing from the page`)
  return element
}

/** @param {string} id */
const input = (id) => /** @type {HTMLInputElement} */ (byId(id))

const state = {
  /** @type {Record<string, unknown> | null} */
  claims: null,
  /** Where the shown token came from, e.g. "POST /auth/login". */
  source: '',
  /** @type {{ id?: string, email: string, name?: string | null } | null} */
  user: null,
  /** @type {{ current_password: string, new_password: string } | null} */
  pendingPassword: null,
  /** The token of a password reset link this page was opened with. */
  resetToken: '',
}

// ---------------------------------------------------------------------------------------------
// Cookies and tokens

/** The value of a readable cookie (plain or with the __Host- prefix), or undefined. */
function readCookie(name) {
  for (const part of document.cookie.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    const key = part.slice(0, eq).trim()
    if (key === name || key === `__Host-${name}`) return part.slice(eq + 1).trim()
  }
  return undefined
}

/** Names of the cookies `document.cookie` shows (the HttpOnly ones never appear). */
function visibleCookies() {
  return document.cookie
    .split(';')
    .map((part) => part.split('=', 1)[0].trim())
    .filter((name) => name !== '')
}

/** Decodes a JWT's payload without checking it: display only, the server does the checking. */
function decodeClaims(token) {
  const part = token.split('.')[1]
  if (!part) return null
  try {
    const base64 = part.replace(/-/g, '+').replace(/_/g, '/')
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4)
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0))
    const claims = JSON.parse(new TextDecoder().decode(bytes))
    return claims && typeof claims === 'object' ? claims : null
  } catch {
    return null
  }
}

const remembered = () => localStorage.getItem(REMEMBER_KEY) === '1'

/** Whether a browser keeps Secure cookies here: over HTTPS, and on localhost even over plain HTTP. */
function secureCookiesKeptHere() {
  const host = location.hostname
  return (
    location.protocol === 'https:' ||
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    host === '[::1]' ||
    /^127\.\d+\.\d+\.\d+$/.test(host)
  )
}

/**
 * After a login the readable CSRF cookies must be there. When neither is, on a plain-HTTP page that
 * is not localhost, the browser refused the server's Secure cookies: say so, since every call would
 * otherwise just answer TOKEN_MISSING. Returns false when the cookies were dropped.
 */
function checkCookiesKept() {
  const dropped =
    !secureCookiesKeptHere() &&
    readCookie(CSRF_ACCESS) === undefined &&
    readCookie(CSRF_REFRESH) === undefined
  if (dropped) byId('cookie-warning-origin').textContent = location.origin
  byId('cookie-warning').hidden = !dropped
  return !dropped
}

// ---------------------------------------------------------------------------------------------
// Requests

/**
 * One API call. Adds the CSRF header on unsafe methods, logs the outcome and, once, refreshes and
 * retries after an expired access token.
 *
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {{ csrf?: boolean, retry?: boolean, note?: string }} [options]
 * @returns {Promise<{ ok: boolean, status: number, data: Record<string, any> }>}
 */
async function api(method, path, body, options = {}) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  let csrf
  if (!SAFE_METHODS.has(method) && options.csrf !== false) {
    csrf = readCookie(path === '/auth/refresh' ? CSRF_REFRESH : CSRF_ACCESS)
    if (csrf) headers[CSRF_HEADER] = csrf
  }
  const started = performance.now()
  let response
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  } catch (error) {
    const data = { code: 'NETWORK_ERROR', msg: String(error) }
    addLog({ method, path, status: 0, data, csrf: Boolean(csrf), note: options.note, ms: 0 })
    return { ok: false, status: 0, data }
  }
  /** @type {Record<string, any>} */
  let data = {}
  try {
    data = await response.json()
  } catch {}
  const ms = Math.round(performance.now() - started)
  addLog({ method, path, status: response.status, data, csrf: Boolean(csrf), note: options.note, ms })
  renderCookies()

  if (response.status === 401 && data.code === 'TOKEN_MISSING' && state.user) checkCookiesKept()
  if (
    response.status === 401 &&
    options.retry !== false &&
    !NO_RETRY.has(path) &&
    RETRY_CODES.has(data.code) &&
    readCookie(CSRF_REFRESH) !== undefined
  ) {
    const refreshed = await refresh(`after ${data.code}`)
    if (refreshed.ok) return api(method, path, body, { ...options, retry: false, note: 'retried' })
  }
  return { ok: response.ok, status: response.status, data }
}

/** A token response: show its access token's claims. */
function acceptTokens(data, source) {
  if (typeof data.access_token !== 'string') return
  state.claims = decodeClaims(data.access_token)
  state.source = source
  renderToken()
}

function forgetSession(message) {
  state.claims = null
  state.source = ''
  state.user = null
  state.pendingPassword = null
  byId('fresh-form').hidden = true
  renderToken()
  renderUser(message)
  byId('sessions').replaceChildren()
}

async function refresh(note) {
  const result = await api('POST', '/auth/refresh', undefined, note ? { note } : {})
  if (result.ok) acceptTokens(result.data, 'POST /auth/refresh')
  else if (result.status === 401) forgetSession('Signed out: the refresh token was refused.')
  return result
}

async function whoAmI() {
  const result = await api('GET', '/auth/me')
  if (result.ok) {
    state.user = result.data.user
    renderUser()
  } else if (result.status === 401) {
    forgetSession(`Not signed in (${result.data.code ?? result.status}).`)
  }
  return result
}

/** `what failed: CODE (msg)` for a result line. */
function failure(result) {
  const { code, msg } = result.data
  return [code ?? `HTTP ${result.status}`, msg].filter(Boolean).join(': ')
}

function say(id, text, tone = 'info') {
  const element = byId(id)
  element.textContent = text
  element.dataset.tone = tone
}

// ---------------------------------------------------------------------------------------------
// Rendering

function renderUser(message) {
  const status = byId('status')
  const whoami = byId('whoami')
  document.body.dataset.session = state.user ? 'in' : 'out'
  if (state.user) {
    const { email, name, id } = state.user
    status.textContent = email
    status.dataset.state = 'in'
    whoami.textContent = ''
    const strong = document.createElement('strong')
    strong.textContent = name ? `${name} <${email}>` : email
    whoami.append('Signed in as ', strong)
    if (id) {
      const small = document.createElement('span')
      small.className = 'id muted mono'
      small.textContent = `id ${id}`
      whoami.append(small)
    }
  } else {
    status.textContent = 'Signed out'
    status.dataset.state = 'out'
    whoami.textContent = message ?? 'Nobody yet: log in first.'
  }
}

const TIME_CLAIMS = new Set(['iat', 'exp', 'nbf', 'fresh'])
const CLAIM_ORDER = ['sub', 'type', 'fresh', 'iat', 'exp', 'nbf', 'jti', 'fam', 'csrf', 'iss', 'aud']

function renderToken() {
  const list = byId('claims')
  const badges = byId('token-badges')
  list.replaceChildren()
  badges.replaceChildren()
  const claims = state.claims
  if (!claims) {
    byId('token-source').textContent = readCookie(CSRF_ACCESS)
      ? 'The access token is in an HttpOnly cookie this page cannot read: press Refresh to get one in a JSON body.'
      : 'Log in to see the claims of your access token.'
    renderCountdown()
    return
  }
  byId('token-source').textContent = `Decoded from the access_token of ${state.source} (display only).`
  const badge = (text, tone) => {
    const span = document.createElement('span')
    span.className = 'badge'
    span.dataset.tone = tone
    span.textContent = text
    badges.append(span)
  }
  badge(String(claims.type ?? 'access'), 'neutral')
  const fresh =
    claims.fresh === true || (typeof claims.fresh === 'number' && Date.now() < claims.fresh * 1000)
  badge(fresh ? 'fresh' : 'not fresh', fresh ? 'ok' : 'warn')
  const keys = [
    ...CLAIM_ORDER.filter((k) => k in claims),
    ...Object.keys(claims).filter((k) => !CLAIM_ORDER.includes(k)),
  ]
  for (const key of keys) {
    const value = claims[key]
    const dt = document.createElement('dt')
    dt.textContent = key
    const dd = document.createElement('dd')
    dd.dataset.claim = key
    if (TIME_CLAIMS.has(key) && typeof value === 'number') {
      dd.textContent = `${value} `
      const when = document.createElement('span')
      when.className = 'muted'
      when.textContent = new Date(value * 1000).toLocaleTimeString()
      dd.append(when)
    } else {
      dd.textContent = typeof value === 'string' ? value : JSON.stringify(value)
    }
    list.append(dt, dd)
  }
  renderCountdown()
}

function renderCountdown() {
  const count = byId('countdown')
  const bar = /** @type {HTMLProgressElement} */ (byId('ttl'))
  const claims = state.claims
  if (!claims || typeof claims.exp !== 'number') {
    count.textContent = 'No token'
    count.dataset.tone = 'neutral'
    bar.value = 0
    return
  }
  const now = Date.now() / 1000
  const left = claims.exp - now
  const total = typeof claims.iat === 'number' ? Math.max(1, claims.exp - claims.iat) : Math.max(1, left)
  if (left <= 0) {
    count.textContent = 'Expired: the next request refreshes it'
    count.dataset.tone = 'warn'
    bar.value = 0
    return
  }
  const seconds = Math.ceil(left)
  const minutes = Math.floor(seconds / 60)
  count.textContent =
    minutes > 0 ? `Expires in ${minutes}:${String(seconds % 60).padStart(2, '0')}` : `Expires in ${seconds} s`
  count.dataset.tone = left < 10 ? 'warn' : 'ok'
  bar.value = Math.min(1, left / total)
}

function renderCookies() {
  const names = visibleCookies()
  byId('cookies').textContent = names.length > 0 ? names.join(', ') : '(none)'
}

/**
 * @param {{ method: string, path: string, status: number, data: Record<string, any>, csrf: boolean,
 *   note?: string, ms: number }} entry
 */
function addLog(entry) {
  const item = document.createElement('li')
  item.dataset.status = String(entry.status)
  item.dataset.tone = entry.status >= 200 && entry.status < 300 ? 'ok' : entry.status >= 500 ? 'bad' : 'warn'
  if (entry.data.code) item.dataset.code = entry.data.code

  const time = document.createElement('time')
  time.textContent = new Date().toLocaleTimeString()
  const request = document.createElement('span')
  request.className = 'req'
  request.textContent = `${entry.method} ${entry.path}`
  const status = document.createElement('span')
  status.className = 'code'
  status.textContent = entry.status === 0 ? 'ERR' : String(entry.status)
  const detail = document.createElement('span')
  detail.className = 'detail'
  detail.textContent = [entry.data.code, entry.data.msg].filter(Boolean).join(' · ')
  item.append(time, request, status, detail)

  const tags = []
  if (entry.csrf) tags.push(CSRF_HEADER)
  if (entry.note) tags.push(entry.note)
  tags.push(`${entry.ms} ms`)
  const meta = document.createElement('span')
  meta.className = 'meta'
  meta.textContent = tags.join(' · ')
  item.append(meta)

  const log = byId('log')
  log.prepend(item)
  while (log.children.length > LOG_LIMIT) log.lastElementChild?.remove()
}

// ---------------------------------------------------------------------------------------------
// Actions

/** Actions finished so far, in `data-actions` on <body>: tests wait for it to move. */
let actionsDone = 0
function actionDone() {
  actionsDone += 1
  document.body.dataset.actions = String(actionsDone)
}

/** Runs a form's action with its submit button disabled, never letting the browser submit it. */
function onSubmit(id, action) {
  const form = /** @type {HTMLFormElement} */ (byId(id))
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    const buttons = form.querySelectorAll('button')
    for (const b of buttons) b.disabled = true
    try {
      await action(form)
    } finally {
      for (const b of buttons) b.disabled = false
      actionDone()
    }
  })
}

function onClick(id, action) {
  const button = /** @type {HTMLButtonElement} */ (byId(id))
  button.addEventListener('click', async () => {
    button.disabled = true
    try {
      await action()
    } finally {
      button.disabled = false
      actionDone()
    }
  })
}

onSubmit('signup-form', async () => {
  const email = input('signup-email').value.trim()
  const name = input('signup-name').value.trim()
  const result = await api('POST', '/auth/signup', {
    email,
    password: input('signup-password').value,
    ...(name ? { name } : {}),
  })
  if (result.ok) {
    say('signup-result', `${result.data.msg ?? 'Sign-up received.'}`, 'ok')
    input('signup-password').value = ''
    if (!input('login-email').value) input('login-email').value = email
    input('login-password').focus()
  } else {
    say('signup-result', failure(result), 'bad')
  }
})

onSubmit('login-form', async () => {
  const email = input('login-email').value.trim()
  const remember = input('login-remember').checked
  const result = await api('POST', '/auth/login', {
    email,
    password: input('login-password').value,
    remember,
  })
  if (result.ok) {
    localStorage.setItem(REMEMBER_KEY, remember ? '1' : '0')
    input('login-password').value = ''
    acceptTokens(result.data, 'POST /auth/login')
    state.user = { email }
    renderUser()
    say('login-result', '')
    if (!checkCookiesKept()) {
      say(
        'session-result',
        'Logged in, but the browser did not keep the cookies: see the message above.',
        'bad',
      )
      return
    }
    say(
      'session-result',
      remember
        ? 'Logged in with "remember me": the cookies outlive the browser session.'
        : 'Logged in for this browser session.',
      'ok',
    )
  } else {
    say('login-result', failure(result), 'bad')
  }
})

onClick('btn-me', async () => {
  const result = await whoAmI()
  say('session-result', result.ok ? 'GET /auth/me answered.' : failure(result), result.ok ? 'ok' : 'bad')
})

onClick('btn-refresh', async () => {
  const result = await refresh()
  say(
    'session-result',
    result.ok ? 'New access token (not fresh) and a rotated refresh token.' : failure(result),
    result.ok ? 'ok' : 'bad',
  )
})

onClick('btn-logout', async () => {
  const result = await api('POST', '/auth/logout')
  if (result.ok) forgetSession('Logged out: this login is revoked and the cookies are cleared.')
  say('session-result', result.ok ? 'Logged out.' : failure(result), result.ok ? 'ok' : 'bad')
})

onClick('btn-logout-all', async () => {
  const result = await api('POST', '/auth/logout-all')
  if (result.ok) forgetSession('Logged out everywhere: every token of this account is refused.')
  say('session-result', result.ok ? 'Logged out on every device.' : failure(result), result.ok ? 'ok' : 'bad')
})

onClick('btn-no-csrf', async () => {
  const result = await api('POST', '/auth/logout', undefined, {
    csrf: false,
    retry: false,
    note: `no ${CSRF_HEADER}`,
  })
  say(
    'session-result',
    result.ok
      ? 'Unexpected: accepted without the CSRF header!'
      : `Refused as it should be: ${failure(result)}`,
    result.ok ? 'bad' : 'ok',
  )
})

async function changePassword() {
  const change = state.pendingPassword
  if (!change) return
  const result = await api('POST', '/auth/password', { ...change, remember: remembered() })
  if (result.ok) {
    state.pendingPassword = null
    byId('fresh-form').hidden = true
    input('password-current').value = ''
    input('password-new').value = ''
    acceptTokens(result.data, 'POST /auth/password')
    say(
      'password-result',
      'Password changed. Every other session is logged out; this one got new tokens.',
      'ok',
    )
  } else if (result.data.code === 'FRESH_TOKEN_REQUIRED') {
    byId('fresh-form').hidden = false
    input('fresh-password').focus()
    say('password-result', 'Not fresh: confirm your password below.', 'warn')
  } else {
    state.pendingPassword = null
    say('password-result', failure(result), 'bad')
  }
}

onSubmit('password-form', async () => {
  state.pendingPassword = {
    current_password: input('password-current').value,
    new_password: input('password-new').value,
  }
  await changePassword()
})

onSubmit('fresh-form', async () => {
  const result = await api('POST', '/auth/fresh-login', {
    password: input('fresh-password').value,
    remember: remembered(),
  })
  input('fresh-password').value = ''
  if (!result.ok) {
    say('password-result', failure(result), 'bad')
    return
  }
  acceptTokens(result.data, 'POST /auth/fresh-login')
  byId('fresh-form').hidden = true
  say('password-result', 'Fresh token: changing the password now.', 'ok')
  await changePassword()
})

onSubmit('forgot-form', async () => {
  const result = await api('POST', '/auth/password/forgot', { email: input('forgot-email').value.trim() })
  say('forgot-result', result.ok ? result.data.msg : failure(result), result.ok ? 'ok' : 'bad')
})

onSubmit('reset-form', async () => {
  const result = await api('POST', '/auth/password/reset', {
    token: state.resetToken,
    new_password: input('reset-password').value,
  })
  if (result.ok) {
    input('reset-password').value = ''
    state.resetToken = ''
    byId('reset-form').hidden = true
    forgetSession('Password reset: every session was logged out. Log in with the new password.')
    say('reset-result', result.data.msg, 'ok')
  } else {
    say('reset-result', failure(result), 'bad')
  }
})

/** @param {string} iso */
const when = (iso) => new Date(iso).toLocaleString()

/** The sessions list, drawn with DOM nodes (never innerHTML: user agents are the client's text). */
function renderSessions(list) {
  const items = list.map((session) => {
    const item = document.createElement('li')
    item.dataset.session = session.id
    item.dataset.current = String(session.current)
    const agent = document.createElement('span')
    agent.className = 'agent'
    agent.textContent = `${session.user_agent ?? 'Unknown device'}${session.current ? ' (this session)' : ''}`
    const detail = document.createElement('span')
    detail.className = 'when'
    detail.textContent = [
      `since ${when(session.created_at)}`,
      `last used ${when(session.last_used_at)}`,
      session.address ?? '',
    ]
      .filter(Boolean)
      .join(' · ')
    const end = document.createElement('button')
    end.type = 'button'
    end.className = session.current ? 'danger' : 'secondary'
    end.textContent = session.current ? 'Log out' : 'End'
    end.dataset.end = session.id
    item.append(agent, detail, end)
    return item
  })
  byId('sessions').replaceChildren(...items)
}

async function loadSessions() {
  const result = await api('GET', '/auth/sessions')
  if (result.ok) renderSessions(result.data.sessions)
  else if (result.status === 401) forgetSession(`Not signed in (${result.data.code ?? result.status}).`)
  return result
}

onClick('btn-sessions', async () => {
  const result = await loadSessions()
  say(
    'sessions-result',
    result.ok ? `${result.data.sessions.length} active session(s).` : failure(result),
    result.ok ? 'ok' : 'bad',
  )
})

byId('sessions').addEventListener('click', async (event) => {
  const button = /** @type {HTMLElement} */ (event.target).closest('button[data-end]')
  if (!(button instanceof HTMLButtonElement)) return
  button.disabled = true
  try {
    const id = button.dataset.end ?? ''
    const current = button.closest('li')?.dataset.current === 'true'
    const result = await api('DELETE', `/auth/sessions/${encodeURIComponent(id)}`)
    if (result.ok && current) forgetSession('This session was ended: its tokens are revoked everywhere.')
    else if (result.ok) await loadSessions()
    say('sessions-result', result.ok ? 'Session ended.' : failure(result), result.ok ? 'ok' : 'bad')
  } finally {
    button.disabled = false
    actionDone()
  }
})

/** The page was opened from a mailed link: take its token out of the address bar, then use it. */
async function followMailLink() {
  const params = new URLSearchParams(location.hash.slice(1))
  const reset = params.get('reset-password')
  const verify = params.get('verify-email')
  if (!reset && !verify) return
  history.replaceState(null, '', location.pathname + location.search)
  const banner = byId('link-banner')
  if (reset) {
    state.resetToken = reset
    byId('reset-card').hidden = false
    byId('reset-form').hidden = false
    input('reset-password').focus()
    return
  }
  const result = await api('POST', '/auth/email/verify', { token: verify })
  banner.textContent = result.ok ? 'Email address verified. Thank you!' : failure(result)
  banner.dataset.tone = result.ok ? 'ok' : 'bad'
  banner.hidden = false
  actionDone()
}

byId('btn-clear-log').addEventListener('click', () => byId('log').replaceChildren())

// ---------------------------------------------------------------------------------------------
// Start

renderUser()
renderToken()
renderCookies()
setInterval(() => {
  renderCountdown()
  renderCookies()
}, 250)
document.documentElement.dataset.ready = 'true'
void followMailLink()
window.addEventListener('hashchange', () => void followMailLink())
// Cookies from an earlier visit ("remember me"): find out who they belong to.
if (readCookie(CSRF_ACCESS) !== undefined || readCookie(CSRF_REFRESH) !== undefined) void whoAmI()
