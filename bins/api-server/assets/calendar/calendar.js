// The calendar page: month, week and day views of GET /calendar/events, drag to reschedule,
// click for a post's facts and ledger history. No framework and no build step: the server
// embeds this file as it is. Times are laid out on the viewer's clock; each post also shows
// its time on its account's clock, which is the one its posting windows are in.
//
// One file of about 750 lines, on purpose: the server sends it as it is, with no bundler to
// join modules. Its parts, in order: dates on the viewer's calendar, the account's clock,
// state, the API and the token prompt, the span and the address, loading, rendering (month,
// then week and day), the details dialog, moving (a drop and the server's answer), wiring.
'use strict';

(() => {
  const VIEWS = ['month', 'week', 'day'];
  const STATUSES = ['scheduled', 'pending', 'processing', 'published', 'unconfirmed', 'failed', 'cancelled'];
  const PLATFORM_TAGS = { instagram: 'IG', tiktok: 'TT', youtube: 'YT' };
  const POLL_MS = 10000;
  const CHIPS_PER_DAY = 3;
  const SNAP_MINUTES = 15;
  const DRAG_THRESHOLD_PX = 5;
  const TOKEN_KEY = 'publishing-scheduler.token';
  const DAY_MS = 86400000;
  const MAX_ACCOUNTS = 100;

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined && child !== false) node.append(child);
    }
    return node;
  };

  const viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const longFormat = new Intl.DateTimeFormat(undefined, {
    weekday: 'short', year: 'numeric', month: 'short', day: 'numeric',
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short',
  });
  const monthFormat = new Intl.DateTimeFormat(undefined, { month: 'long', year: 'numeric' });
  const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
  const shortDay = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric' });
  const weekdayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
  const zoneFormats = new Map();

  // ---- Dates on the viewer's calendar (local midnight Date objects) ----
  const startOfDay = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate());
  const addDays = (d, n) => new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  const isoDate = (d) => `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const parseIsoDate = (text) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || '');
    if (!m) return null;
    const d = new Date(+m[1], +m[2] - 1, +m[3]);
    return isoDate(d) === text ? d : null;
  };
  const startOfWeek = (d) => addDays(startOfDay(d), -((d.getDay() + 6) % 7));
  const dayDiff = (a, b) => Math.round((startOfDay(b) - startOfDay(a)) / DAY_MS);

  // ---- The account's clock ----
  // Null for a zone this browser's time zone data does not know (the server's may be newer).
  function zoneFormat(zone) {
    if (!zoneFormats.has(zone)) {
      let fmt = null;
      try {
        fmt = {
          parts: new Intl.DateTimeFormat('en-US', {
            timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
            hour: 'numeric', minute: 'numeric', second: 'numeric',
          }),
          short: new Intl.DateTimeFormat(undefined, { timeZone: zone, timeZoneName: 'short' }),
        };
      } catch {
        fmt = null;
      }
      zoneFormats.set(zone, fmt);
    }
    return zoneFormats.get(zone);
  }
  // How far the zone's clock is ahead of UTC at instant `ms`.
  function zoneOffset(zone, ms) {
    const parts = {};
    for (const p of zoneFormat(zone).parts.formatToParts(new Date(ms))) parts[p.type] = p.value;
    const asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour % 24, +parts.minute, +parts.second);
    return asUtc - Math.floor(ms / 1000) * 1000;
  }
  // The instant the zone's clock reads the wall time given (as UTC fields of `wall`): of two
  // (clocks set back), the first; a time the clocks skip moves forward by the gap, as the
  // server's planner does.
  function zonedInstant(zone, wall) {
    const guess = wall.getTime();
    const offsets = [zoneOffset(zone, guess - DAY_MS), zoneOffset(zone, guess + DAY_MS)];
    const valid = offsets.map((o) => guess - o).filter((t) => zoneOffset(zone, t) === guess - t);
    return new Date(valid.length ? Math.min(...valid) : guess - Math.min(...offsets));
  }
  function zoneName(zone, at) {
    const fmt = zoneFormat(zone);
    const part = fmt && fmt.short.formatToParts(at).find((p) => p.type === 'timeZoneName');
    return part ? part.value : zone;
  }
  // `2027-03-02T18:30:00` (the server's local_time) as UTC fields.
  const wallOf = (localTime) => new Date(`${localTime}Z`);

  // ---- State ----
  const state = {
    view: 'month',
    date: startOfDay(new Date()),
    accounts: [],
    platform: '',
    status: '',
    token: readToken(),
    knownAccounts: new Map(),
    events: [],
    byId: new Map(),
    fingerprint: '',
    truncated: false,
    loadSeq: 0,
    loadFailed: false,
    openShown: '',
    drag: null,
    moving: new Set(),
    open: null,
  };

  function readToken() {
    try { return localStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
  }
  function saveToken(token) {
    state.token = token;
    try {
      if (token) localStorage.setItem(TOKEN_KEY, token); else localStorage.removeItem(TOKEN_KEY);
    } catch { /* private mode: the token lasts for this page */ }
    $('forget-token').hidden = !token;
  }

  // ---- The API ----
  class ApiFailure extends Error {
    constructor(status, message, code) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }
  let tokenWait = null;

  async function api(method, path, body) {
    for (;;) {
      const sentWith = state.token;
      const headers = { Accept: 'application/json' };
      if (sentWith) headers.Authorization = `Bearer ${sentWith}`;
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const resp = await fetch(path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store',
      });
      if (resp.status === 401) {
        // Sent before another request's prompt was answered: try again with the new token.
        if (state.token === sentWith) await askToken(Boolean(sentWith));
        continue;
      }
      let data = null;
      try { data = await resp.json(); } catch { /* no JSON body */ }
      if (!resp.ok) {
        throw new ApiFailure(resp.status, (data && data.error) || `${resp.status} ${resp.statusText}`, data && data.code);
      }
      return data;
    }
  }

  // Asks for the token once, however many requests wait for it. Nothing can be shown without
  // it, so the dialog stays until one is given (Escape does not leave the page stuck).
  let tokenAnswer = null;
  function askToken(rejected) {
    if (!tokenWait) {
      tokenWait = new Promise((resolve) => { tokenAnswer = resolve; });
      $('token-error').hidden = !rejected;
      $('token-input').value = '';
      const dialog = $('token-dialog');
      if (!dialog.open) dialog.showModal();
      $('token-input').focus();
    }
    return tokenWait;
  }
  function wireToken() {
    const dialog = $('token-dialog');
    $('token-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const token = $('token-input').value.trim();
      if (!token || !tokenWait) return;
      saveToken(token);
      const resolve = tokenAnswer;
      tokenWait = null;
      tokenAnswer = null;
      dialog.close();
      resolve();
    });
    dialog.addEventListener('cancel', (event) => event.preventDefault());
    dialog.addEventListener('close', () => {
      if (tokenWait) {
        dialog.showModal();
        $('token-input').focus();
      }
    });
  }

  // ---- The span on screen ----
  function span() {
    if (state.view === 'month') {
      const first = new Date(state.date.getFullYear(), state.date.getMonth(), 1);
      const start = startOfWeek(first);
      return { start, days: 42 };
    }
    if (state.view === 'week') return { start: startOfWeek(state.date), days: 7 };
    return { start: startOfDay(state.date), days: 1 };
  }

  function query() {
    const q = new URLSearchParams();
    q.set('date', isoDate(state.date));
    q.set('view', state.view);
    if (state.accounts.length) q.set('social_account_id', state.accounts.join(','));
    if (state.platform) q.set('platform', state.platform);
    if (state.status) q.set('status', state.status);
    return q;
  }

  function readUrl() {
    const q = new URLSearchParams(location.search);
    const date = parseIsoDate(q.get('date'));
    if (date) state.date = date;
    if (VIEWS.includes(q.get('view'))) state.view = q.get('view');
    state.accounts = (q.get('social_account_id') || '').split(',').filter(Boolean);
    state.platform = q.get('platform') || '';
    state.status = STATUSES.includes(q.get('status')) ? q.get('status') : '';
  }

  function writeUrl() {
    const url = `${location.pathname}?${query()}`;
    if (url !== `${location.pathname}${location.search}`) history.replaceState(null, '', url);
  }

  // ---- Loading ----
  async function load({ quiet = false } = {}) {
    const seq = ++state.loadSeq;
    const { start, days } = span();
    const q = new URLSearchParams();
    q.set('start', start.toISOString());
    q.set('end', addDays(start, days).toISOString());
    if (state.accounts.length) q.set('social_account_id', state.accounts.join(','));
    if (state.platform) q.set('platform', state.platform);
    if (state.status) q.set('status', state.status);
    const main = $('calendar');
    if (!quiet) main.dataset.state = 'loading';
    try {
      const data = await api('GET', `/calendar/events?${q}`);
      if (seq !== state.loadSeq) return;
      const fingerprint = JSON.stringify(data);
      if (!quiet || fingerprint !== state.fingerprint) {
        state.fingerprint = fingerprint;
        state.events = data.events;
        state.byId = new Map(data.events.map((e) => [e.id, e]));
        state.truncated = data.truncated;
        render({ keep: quiet });
      }
      main.dataset.state = 'ready';
      if (state.loadFailed) {
        state.loadFailed = false;
        say('', false);
      }
      if (state.open && state.byId.has(state.open)) fillDetails(state.byId.get(state.open), false);
    } catch (err) {
      if (seq !== state.loadSeq) return;
      main.dataset.state = 'error';
      state.loadFailed = true;
      say(`Could not load the posts: ${err.message}`, true);
    }
  }

  async function loadAccounts() {
    const accounts = [];
    let cursor = null;
    for (let page = 0; page < 20; page++) {
      const q = new URLSearchParams({ limit: '500' });
      if (cursor) q.set('cursor', cursor);
      const data = await api('GET', `/accounts?${q}`);
      accounts.push(...data.items);
      cursor = data.next_cursor;
      if (!cursor) break;
    }
    for (const account of accounts) state.knownAccounts.set(account.id, account);
    renderFilters();
  }

  // ---- Messages ----
  function say(text, isError) {
    const box = $('message');
    // The same words again (a poll failing each time) are not announced again.
    if (box.textContent === text && !box.hidden === Boolean(text)) return;
    box.textContent = text;
    box.classList.toggle('error', Boolean(isError));
    box.setAttribute('role', isError ? 'alert' : 'status');
    box.hidden = !text;
  }

  // ---- Rendering ----
  function accountTime(event) {
    const at = new Date(event.start);
    return `${event.local_time.slice(11, 16)} ${zoneName(event.timezone, at)}`;
  }

  function postButton(event) {
    const at = new Date(event.start);
    const viewer = timeFormat.format(at);
    const sameZone = event.timezone === viewerZone;
    const account = state.knownAccounts.get(event.social_account_id);
    const label = [
      event.title, event.platform, event.status,
      `${viewer} your time`, sameZone ? null : `${accountTime(event)} account time`,
      account && account.handle ? account.handle : event.social_account_id,
    ].filter(Boolean).join(', ');
    const classes = ['post', `s-${event.status}`];
    if (event.editable) classes.push('editable');
    if (state.moving.has(event.id)) classes.push('moving');
    return el('button', {
      type: 'button', class: classes.join(' '), dataset: { id: event.id }, 'aria-label': label,
      title: event.reason ? `${label}. ${event.reason}` : label,
    },
    el('span', { class: 'when' },
      el('span', { class: 't' }, viewer),
      sameZone ? null : el('span', { class: 'at' }, accountTime(event)),
      el('span', { class: 'pf' }, PLATFORM_TAGS[event.platform] || event.platform.slice(0, 2).toUpperCase())),
    el('span', { class: 'title' }, event.title));
  }

  function byDay() {
    const days = new Map();
    for (const event of state.events) {
      const key = isoDate(new Date(event.start));
      if (!days.has(key)) days.set(key, []);
      days.get(key).push(event);
    }
    return days;
  }

  // `keep`: a redraw of the same span (a poll, a move): the scroll position and the focused
  // post stay where they were.
  function render({ keep = false } = {}) {
    const started = performance.now();
    const main = $('calendar');
    const scroller = document.querySelector('.scroller');
    const scrolled = keep && scroller ? scroller.scrollTop : null;
    const focused = document.activeElement && main.contains(document.activeElement)
      ? document.activeElement.dataset.id || null : null;
    const { start, days } = span();
    const today = isoDate(new Date());
    let content;
    if (state.view === 'month') {
      $('range').textContent = monthFormat.format(state.date);
      content = renderMonth(start, today);
    } else {
      const last = addDays(start, days - 1);
      $('range').textContent = days === 1
        ? dayFormat.format(start)
        : `${shortDay.format(start)} – ${shortDay.format(last)}, ${monthFormat.format(last)}`;
      content = renderTimeGrid(start, days, today);
    }
    main.replaceChildren(content);
    if (state.truncated) say('This span holds more posts than one page shows: the earliest 9,999 are shown. Filter by account to see the rest.', true);
    for (const button of document.querySelectorAll('.views button')) {
      button.setAttribute('aria-pressed', String(button.dataset.view === state.view));
    }
    if (scrolled !== null && document.querySelector('.scroller')) document.querySelector('.scroller').scrollTop = scrolled;
    else if (state.view !== 'month') scrollToWork();
    if (focused) document.querySelector(`.post[data-id="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
    main.dataset.renderMs = (performance.now() - started).toFixed(1);
    main.dataset.count = String(state.events.length);
    writeUrl();
  }

  function renderMonth(start, today) {
    const grid = el('div', { class: 'month' });
    for (let i = 0; i < 7; i++) grid.append(el('div', { class: 'wd' }, weekdayFormat.format(addDays(start, i))));
    const days = byDay();
    const month = state.date.getMonth();
    for (let i = 0; i < 42; i++) {
      const day = addDays(start, i);
      const key = isoDate(day);
      const posts = days.get(key) || [];
      const classes = ['day'];
      if (day.getMonth() !== month) classes.push('out');
      if (key === today) classes.push('today');
      const cell = el('div', { class: classes.join(' '), dataset: { date: key } },
        el('button', { type: 'button', class: 'daynum', dataset: { goto: key }, 'aria-label': `${dayFormat.format(day)}: ${posts.length} posts, open the day` }, String(day.getDate())));
      if (posts.length) {
        const list = el('ul');
        for (const event of posts.slice(0, CHIPS_PER_DAY)) list.append(el('li', null, postButton(event)));
        cell.append(list);
        if (posts.length > CHIPS_PER_DAY) {
          cell.append(el('button', { type: 'button', class: 'more', dataset: { goto: key } }, `+${posts.length - CHIPS_PER_DAY} more`));
        }
      }
      grid.append(cell);
    }
    return grid;
  }

  function renderTimeGrid(start, days, today) {
    const grid = el('div', { class: `timegrid${days === 7 ? ' week' : ''}` });
    grid.style.setProperty('--days', String(days));
    grid.append(el('div', { class: 'head' }));
    for (let i = 0; i < days; i++) {
      const day = addDays(start, i);
      const key = isoDate(day);
      grid.append(el('div', { class: `head${key === today ? ' today' : ''}` },
        el('button', { type: 'button', dataset: { goto: key }, 'aria-label': `Open ${dayFormat.format(day)}` }, shortDay.format(day))));
    }
    const scroller = el('div', { class: 'scroller' });
    const hours = el('div', { class: 'hours', 'aria-hidden': 'true' });
    for (let h = 1; h < 24; h++) {
      const label = el('span', null, `${pad(h)}:00`);
      label.style.top = `calc(${h} * var(--hour))`;
      hours.append(label);
    }
    scroller.append(hours);
    const grouped = byDay();
    const hourPx = hourHeight();
    const now = new Date();
    for (let i = 0; i < days; i++) {
      const day = addDays(start, i);
      const key = isoDate(day);
      const col = el('div', { class: 'col', dataset: { date: key }, 'aria-label': dayFormat.format(day) });
      layOut(grouped.get(key) || [], hourPx).forEach(({ event, top, lane, lanes }) => {
        const button = postButton(event);
        button.style.top = `${top}px`;
        button.style.left = `calc(${(lane * 100) / lanes}% + 1px)`;
        button.style.width = `calc(${100 / lanes}% - 2px)`;
        col.append(button);
      });
      if (key === today) {
        const line = el('div', { class: 'now', 'aria-hidden': 'true' });
        line.style.top = `${minutesInto(now) * (hourPx / 60)}px`;
        col.append(line);
      }
      scroller.append(col);
    }
    grid.append(scroller);
    return grid;
  }

  // Where `at` is on the viewer's wall clock of its day, in minutes: the hour lines and a drop
  // read the wall clock too, also on the days the clocks change.
  const minutesInto = (at) => at.getHours() * 60 + at.getMinutes() + at.getSeconds() / 60;

  function hourHeight() {
    const value = getComputedStyle(document.documentElement).getPropertyValue('--hour');
    return parseFloat(value) || 60;
  }

  // Side by side where posts would overlap: each cluster of overlapping posts shares the width.
  function layOut(events, hourPx) {
    const height = 35;
    const placed = events
      .map((event) => ({ event, top: minutesInto(new Date(event.start)) * (hourPx / 60) }))
      .sort((a, b) => a.top - b.top);
    let cluster = [];
    let clusterEnd = -Infinity;
    const finish = () => {
      const lanes = Math.max(1, ...cluster.map((p) => p.lane + 1));
      for (const p of cluster) p.lanes = lanes;
      cluster = [];
    };
    for (const p of placed) {
      if (p.top >= clusterEnd) finish();
      const laneEnds = cluster.reduce((ends, q) => { ends[q.lane] = Math.max(ends[q.lane] || -Infinity, q.top + height); return ends; }, []);
      let lane = 0;
      while (laneEnds[lane] !== undefined && laneEnds[lane] > p.top) lane++;
      p.lane = lane;
      cluster.push(p);
      clusterEnd = Math.max(clusterEnd, p.top + height);
    }
    finish();
    return placed;
  }

  function scrollToWork() {
    const scroller = document.querySelector('.scroller');
    if (!scroller) return;
    const tops = [...scroller.querySelectorAll('.post')].map((b) => parseFloat(b.style.top));
    const first = tops.length ? Math.min(...tops) : 8 * hourHeight();
    scroller.scrollTop = Math.max(0, first - hourHeight());
  }

  function renderFilters() {
    const box = $('accounts');
    box.replaceChildren(box.querySelector('legend'));
    const accounts = [...state.knownAccounts.values()];
    for (const account of accounts) {
      const input = el('input', { type: 'checkbox', value: account.id, checked: state.accounts.includes(account.id) });
      box.append(el('label', null, input, ` ${account.handle || account.id} (${account.platform}, ${account.timezone})`));
    }
    if (!accounts.length) box.append(el('p', null, 'No accounts yet.'));
    $('accounts-label').textContent = state.accounts.length ? `${state.accounts.length} of ${accounts.length}` : 'all';
    const platforms = new Set(accounts.map((a) => a.platform));
    if (state.platform) platforms.add(state.platform);
    const platformSelect = $('platform');
    platformSelect.replaceChildren(el('option', { value: '' }, 'all'),
      ...[...platforms].sort().map((p) => el('option', { value: p, selected: p === state.platform }, p)));
    $('status').value = state.status;
  }

  // ---- Details ----
  async function openDetails(id) {
    const event = state.byId.get(id);
    if (!event) return;
    state.open = id;
    state.openShown = '';
    fillDetails(event, true);
    const dialog = $('details');
    if (!dialog.open) dialog.showModal();
  }

  function fillDetails(event, withHistory) {
    // A poll that changed nothing leaves the dialog (a half-confirmed cancel, a time being
    // typed) as it is.
    const shown = JSON.stringify(event);
    if (!withHistory && shown === state.openShown) return;
    state.openShown = shown;
    $('details-title').textContent = event.title;
    const account = state.knownAccounts.get(event.social_account_id);
    const at = new Date(event.start);
    const facts = [
      ['Status', event.status],
      ['Platform', event.platform],
      ['Account', account && account.handle ? `${account.handle} (${event.social_account_id})` : event.social_account_id],
      ['Your time', longFormat.format(at)],
      [`Account time`, `${event.local_time.replace('T', ' ')} ${event.timezone} (${zoneName(event.timezone, at)})`],
      ['Reason', event.reason || '—'],
      ['Series', event.series_id || '—'],
      ['Clip', event.clip_id],
      ['Post', event.id],
    ];
    $('details-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', null, k), el('dd', null, v)]));
    $('move-form').hidden = !event.editable;
    $('cancel-post').hidden = !event.editable;
    $('cancel-confirm').hidden = true;
    if (event.editable) $('move-at').value = localInputValue(at);
    if (withHistory) loadHistory(event.id);
  }

  const localInputValue = (d) => `${isoDate(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}`;

  async function loadHistory(id) {
    const list = $('details-history');
    list.replaceChildren(el('li', null, 'Loading…'));
    try {
      const events = await api('GET', `/ledger/events?${new URLSearchParams({ entity_id: id, limit: '100' })}`);
      if (state.open !== id) return;
      list.replaceChildren(...events.reverse().map((e) => {
        const detail = e.metadata && (e.metadata.reason || e.metadata.error || e.metadata.scheduled_for);
        return el('li', null, el('time', { datetime: e.created_at }, longFormat.format(new Date(e.created_at))), ' ',
          e.event_type.replace(/_/g, ' '), detail ? ` — ${detail}` : '');
      }));
      if (!events.length) list.replaceChildren(el('li', null, 'No events.'));
    } catch (err) {
      list.replaceChildren(el('li', { class: 'error' }, `Could not load the history: ${err.message}`));
    }
  }

  function closeDetails() {
    state.open = null;
    $('details').close();
  }

  async function cancelOpen() {
    const id = state.open;
    const button = $('cancel-confirm');
    if (!id || button.disabled) return;
    button.disabled = true;
    try {
      const log = await api('POST', `/publishing/logs/${encodeURIComponent(id)}/cancel`);
      closeDetails();
      say(`Cancelled “${state.byId.get(id)?.title || id}” (${log.status}).`, false);
    } catch (err) {
      say(`Not cancelled: ${err.message}`, true);
    } finally {
      button.disabled = false;
    }
    await load({ quiet: true });
  }

  // ---- Moving ----
  async function move(id, at) {
    const event = state.byId.get(id);
    if (!event || !event.editable || state.moving.has(id)) return;
    const before = { ...event };
    // Shown where it was dropped while the server decides.
    Object.assign(event, { start: at.toISOString() });
    state.moving.add(id);
    render({ keep: true });
    try {
      const result = await api('POST', `/publishing/logs/${encodeURIComponent(id)}/reschedule`, {
        scheduled_for: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      });
      state.moving.delete(id);
      const landed = new Date(result.scheduled_for);
      say(`Moved “${event.title}” to ${longFormat.format(landed)}: ${result.reason}.`, false);
      // Drawn again even when the server put it back where it was.
      state.fingerprint = '';
      await load({ quiet: true });
    } catch (err) {
      state.moving.delete(id);
      Object.assign(event, before);
      render({ keep: true });
      say(`“${event.title}” was not moved: ${err.message}`, true);
    }
  }

  // A post dropped on another day of the month keeps its time on the account's clock.
  function monthTarget(event, dateKey) {
    const target = parseIsoDate(dateKey);
    const start = new Date(event.start);
    const delta = dayDiff(start, target);
    if (delta === 0) return null;
    if (!zoneFormat(event.timezone)) {
      // A zone this browser does not know: the time of day on the viewer's clock instead.
      return new Date(target.getFullYear(), target.getMonth(), target.getDate(), start.getHours(), start.getMinutes(), start.getSeconds());
    }
    const wall = wallOf(event.local_time);
    wall.setUTCDate(wall.getUTCDate() + delta);
    return zonedInstant(event.timezone, wall);
  }

  function gridTarget(col, clientY) {
    const day = parseIsoDate(col.dataset.date);
    const rect = col.getBoundingClientRect();
    const minutes = Math.max(0, Math.min(24 * 60 - SNAP_MINUTES, ((clientY - rect.top) / hourHeight()) * 60));
    const snapped = Math.round(minutes / SNAP_MINUTES) * SNAP_MINUTES;
    return new Date(day.getFullYear(), day.getMonth(), day.getDate(), 0, snapped);
  }

  function dropTarget(x, y) {
    const under = document.elementFromPoint(x, y);
    if (!under) return null;
    return state.view === 'month' ? under.closest('.day[data-date]') : under.closest('.col[data-date]');
  }

  function onPointerDown(e) {
    const button = e.target.closest('.post.editable');
    if (!button || e.button !== 0 || state.moving.has(button.dataset.id)) return;
    state.drag = { id: button.dataset.id, button, x: e.clientX, y: e.clientY, ghost: null, over: null, pointer: e.pointerId };
  }

  function onPointerMove(e) {
    const drag = state.drag;
    if (!drag || e.pointerId !== drag.pointer) return;
    if (!drag.ghost) {
      if (Math.hypot(e.clientX - drag.x, e.clientY - drag.y) < DRAG_THRESHOLD_PX) return;
      drag.ghost = drag.button.cloneNode(true);
      drag.ghost.classList.add('dragging');
      drag.ghost.removeAttribute('data-id');
      drag.ghost.removeAttribute('style');
      document.body.append(drag.ghost);
      drag.button.classList.add('moving');
    }
    e.preventDefault();
    drag.ghost.style.left = `${e.clientX + 4}px`;
    drag.ghost.style.top = `${e.clientY + 4}px`;
    const target = dropTarget(e.clientX, e.clientY);
    if (target !== drag.over) {
      drag.over?.classList.remove('drop');
      target?.classList.add('drop');
      drag.over = target;
    }
  }

  function onPointerUp(e) {
    const drag = state.drag;
    if (!drag || e.pointerId !== drag.pointer) return;
    state.drag = null;
    if (!drag.ghost) return; // a click: the click handler opens the post
    drag.ghost.remove();
    drag.over?.classList.remove('drop');
    drag.button.classList.remove('moving');
    suppressClick = true;
    setTimeout(() => { suppressClick = false; }, 0);
    const target = dropTarget(e.clientX, e.clientY);
    const event = state.byId.get(drag.id);
    if (!target || !event) return;
    const at = state.view === 'month' ? monthTarget(event, target.dataset.date) : gridTarget(target, e.clientY);
    if (at && Math.abs(at - new Date(event.start)) >= 1000) move(drag.id, at);
  }

  function onPointerCancel() {
    const drag = state.drag;
    state.drag = null;
    if (drag?.ghost) {
      drag.ghost.remove();
      drag.over?.classList.remove('drop');
      drag.button.classList.remove('moving');
    }
  }

  let suppressClick = false;

  // ---- Wiring ----
  function go(view, date) {
    state.view = view;
    state.date = startOfDay(date);
    load();
  }

  function step(direction) {
    const d = state.date;
    if (state.view === 'month') go('month', new Date(d.getFullYear(), d.getMonth() + direction, 1));
    else go(state.view, addDays(d, direction * (state.view === 'week' ? 7 : 1)));
  }

  function wire() {
    $('prev').addEventListener('click', () => step(-1));
    $('next').addEventListener('click', () => step(1));
    $('today').addEventListener('click', () => go(state.view, new Date()));
    for (const button of document.querySelectorAll('.views button')) {
      button.addEventListener('click', () => go(button.dataset.view, state.date));
    }
    $('accounts').addEventListener('change', (e) => {
      const chosen = [...$('accounts').querySelectorAll('input:checked')].map((i) => i.value);
      if (chosen.length > MAX_ACCOUNTS) {
        e.target.checked = false;
        say(`At most ${MAX_ACCOUNTS} accounts at once; clear them all to see every account.`, true);
        return;
      }
      state.accounts = chosen;
      renderFilters();
      load();
    });
    $('platform').addEventListener('change', (e) => { state.platform = e.target.value; load(); });
    $('status').addEventListener('change', (e) => { state.status = e.target.value; load(); });
    $('forget-token').addEventListener('click', () => { saveToken(''); location.reload(); });

    const main = $('calendar');
    main.addEventListener('click', (e) => {
      if (suppressClick) return;
      const goto = e.target.closest('[data-goto]');
      if (goto) { go('day', parseIsoDate(goto.dataset.goto)); return; }
      const post = e.target.closest('.post[data-id]');
      if (post) openDetails(post.dataset.id);
    });
    main.addEventListener('pointerdown', onPointerDown);
    window.addEventListener('pointermove', onPointerMove, { passive: false });
    window.addEventListener('pointerup', onPointerUp);
    window.addEventListener('pointercancel', onPointerCancel);
    window.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && state.drag) onPointerCancel();
    });

    $('details-close').addEventListener('click', closeDetails);
    $('details').addEventListener('close', () => { state.open = null; });
    $('cancel-post').addEventListener('click', () => {
      $('cancel-post').hidden = true;
      $('cancel-confirm').hidden = false;
      $('cancel-confirm').focus();
    });
    $('cancel-confirm').addEventListener('click', cancelOpen);
    $('move-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const id = state.open;
      const value = $('move-at').value;
      const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(value);
      if (!id || !m) return;
      closeDetails();
      move(id, new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]));
    });

    const legend = document.querySelector('.legend');
    const statusSelect = $('status');
    for (const status of STATUSES) {
      legend.append(el('li', { class: `s-${status}` }, status));
      statusSelect.append(el('option', { value: status }, status));
    }
    $('zone-note').textContent = `Times are on your clock (${viewerZone}); where an account's zone differs, its own time follows in grey. Drag a scheduled post to move it: in month view it keeps its time of day.`;
    setInterval(() => {
      if (!state.drag && !state.moving.size && document.visibilityState === 'visible' && !tokenWait) load({ quiet: true });
    }, POLL_MS);
  }

  async function start() {
    readUrl();
    wireToken();
    wire();
    saveToken(state.token);
    renderFilters();
    render();
    try {
      await loadAccounts();
    } catch (err) {
      say(`Could not load the accounts: ${err.message}`, true);
    }
    await load();
  }

  start();
})();
