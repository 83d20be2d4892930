// The dashboard page: hash routes (#/, #/w/<run>, #/t/<run>/<task>), each view fetched from
// /api and redrawn when the server says the database changed (Server-Sent Events). When a
// view is drawn, <body data-ready> names it and data-renders counts the draws (tests wait on it).
'use strict';

const COLORS = {
  pending: '#9aa3ad', launched: '#7fa7e0', running: '#1f5fbf', joining: '#6a4fb3', fail_retryable: '#e0a040',
  exec_done: '#2e7d32', memo_done: '#66bb6a', failed: '#b3261e', dep_fail: '#e57373',
};
const main = document.getElementById('main');
const charts = [];
let renders = 0;
let current = { key: '', refresh: async () => {} };
let busy = false;
let again = false;

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const fmtTime = (ms) => (ms == null ? '' : new Date(ms).toISOString().replace('T', ' ').slice(0, 23));
const fmtDur = (ms) => (ms == null ? '–' : ms < 1000 ? `${Math.round(ms)} ms` : ms < 60000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 60000).toFixed(1)} min`);
const api = async (path) => {
  const res = await fetch(`/api/${path}`);
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
};

function ready(name) {
  performance.mark(`ready:${name}`);
  renders++;
  document.body.dataset.ready = name;
  document.body.dataset.renders = String(renders);
}

function chart(id) {
  const el = document.getElementById(id);
  let c = echarts.getInstanceByDom(el);
  if (!c) {
    c = echarts.init(el, null, { renderer: 'canvas' });
    charts.push(c);
  }
  return c;
}

// ---- #/ : the workflows
async function workflowsView() {
  const rows = await api('workflows');
  main.innerHTML = `<h1>Workflows</h1><table id="workflows"><tr><th>Workflow</th><th>Run</th><th>Began</th><th>Duration</th>
    <th>Tasks</th><th>Done</th><th>Running</th><th>Failed</th></tr>${rows.map((w) => `<tr>
    <td><a href="#/w/${encodeURIComponent(w.runId)}">${esc(w.workflowName ?? '(unnamed)')}</a> ${esc(w.workflowVersion ?? '')}</td>
    <td class="muted">${esc(w.runId)}</td><td>${fmtTime(w.timeBegan)}</td>
    <td>${w.timeCompleted ? fmtDur(w.timeCompleted - w.timeBegan) : '<i>running</i>'}</td><td class="n">${w.tasks}</td>
    <td class="n">${w.tasksCompleted}</td><td class="n">${(w.byState.running ?? 0) + (w.byState.launched ?? 0)}</td>
    <td class="n state-failed">${w.tasksFailed}</td></tr>`).join('')}</table>`;
  ready('workflows');
}

// ---- #/w/<run> : one workflow
function workflowSkeleton(run) {
  main.innerHTML = `<h1 id="title"></h1><div class="counts" id="counts"></div>
    <h2>Failures by error class</h2><div id="failures"></div>
    <h2>Apps</h2><div id="apps"></div>
    <h2>Tasks by state over time</h2><div class="chart" id="states"></div>
    <h2>Timeline <span class="muted" id="timeline-note"></span></h2><div class="chart" id="timeline"></div>
    <h2>Task graph <span class="muted" id="graph-note"></span></h2><div class="chart" id="graph"></div>
    <h2>Resources</h2><div class="grid"><div class="chart" id="cpu"></div><div class="chart" id="rss"></div></div>
    <div id="blocks"></div><div id="nodes"></div>`;
  main.dataset.run = run;
}

async function workflowView(run) {
  const enc = encodeURIComponent(run);
  // The overview first (counts, failures, apps, states over time: cheap queries), then the
  // heavy panels; <body data-overview> marks the first, data-ready the whole page.
  // The heavy panels are asked for once the overview is drawn: the server answers one query
  // at a time, and the page parses one answer at a time.
  const [overview, states] = await Promise.all([api(`workflow/${enc}`), api(`workflow/${enc}/states`)]);
  if (main.dataset.run !== run) workflowSkeleton(run);
  const { summary, apps, failures } = overview;
  document.getElementById('title').textContent = `${summary.workflowName ?? '(unnamed)'} ${summary.workflowVersion ?? ''} · ${summary.runId}`;
  const count = (id, label, n) => `<div class="count state-${id}"><b id="count-${id}">${n}</b>${label}</div>`;
  const s = summary.byState;
  document.getElementById('counts').innerHTML = count('total', 'tasks', summary.tasks) +
    count('pending', 'pending', s.pending ?? 0) + count('running', 'running', (s.running ?? 0) + (s.launched ?? 0) + (s.joining ?? 0)) +
    count('exec_done', 'done', (s.exec_done ?? 0) + (s.memo_done ?? 0)) + count('failed', 'failed', s.failed ?? 0) +
    count('dep_fail', 'dependency failed', s.dep_fail ?? 0) +
    `<div class="count"><b>${summary.timeCompleted ? fmtDur(summary.timeCompleted - summary.timeBegan) : 'running'}</b>${fmtTime(summary.timeBegan)}</div>`;
  renderFailures(run, failures);
  renderApps(apps);
  renderStates(states);
  document.body.dataset.overview = `workflow:${run}`;
  performance.mark(`overview:workflow:${run}`);
  const [timeline, graph, resources] = await Promise.all([
    api(`workflow/${enc}/timeline`), api(`workflow/${enc}/graph`), api(`workflow/${enc}/resources`),
  ]);
  if (main.dataset.run !== run) return;
  renderTimeline(timeline);
  renderGraph(run, graph);
  renderResources(resources);
  ready(`workflow:${run}`);
}

function renderFailures(run, groups) {
  const el = document.getElementById('failures');
  const open = new Set([...el.querySelectorAll('details[open]')].map((d) => d.dataset.class));
  el.innerHTML = groups.length === 0 ? '<p class="muted" id="no-failures">No failed tries.</p>' : groups.map((g) => `
    <details class="failure" data-class="${esc(g.errorClass)}" ${open.has(g.errorClass) ? 'open' : ''}>
      <summary>${esc(g.errorClass)} — ${g.tries} failed tries in ${g.tasks} tasks, ${g.finallyFailed} failed for good</summary>
      ${g.messages.map((m) => `<div class="msg"><code>${esc(m.message)}</code> <span class="muted">×${m.count}</span><br>${m.tasks} task${m.tasks === 1 ? '' : 's'}:
        ${m.taskIds.map((id) => `<a href="#/t/${encodeURIComponent(run)}/${id}">${id}</a>`).join(' ')}${m.tasks > m.taskIds.length ? ' …' : ''}</div>`).join('')}
    </details>`).join('');
}

function renderApps(apps) {
  document.getElementById('apps').innerHTML = `<table id="apps-table"><tr><th>App</th><th>Tasks</th><th>States</th><th>Median</th><th>p95</th></tr>
    ${apps.map((a) => `<tr><td>${esc(a.funcName)}</td><td class="n">${a.count}</td>
    <td>${Object.entries(a.byState).map(([k, v]) => `<span class="state-${k}">${k} ${v}</span>`).join(', ')}</td>
    <td class="n">${fmtDur(a.medianMs)}</td><td class="n">${fmtDur(a.p95Ms)}</td></tr>`).join('')}</table>`;
}

function renderStates(data) {
  chart('states').setOption({
    animation: false, tooltip: { trigger: 'axis' }, legend: { top: 4 }, grid: { left: 50, right: 20, top: 50, bottom: 30 },
    xAxis: { type: 'time' }, yAxis: { type: 'value', name: 'tasks' },
    series: data.states.map((state, i) => ({
      name: state, type: 'line', stack: 'all', areaStyle: {}, symbol: 'none', color: COLORS[state],
      data: data.times.map((t, j) => [t, data.counts[i][j]]),
    })),
  }, true);
}

function renderTimeline({ tries, total }) {
  document.getElementById('timeline-note').textContent = total > tries.length ? `(latest ${tries.length} of ${total} tries)` : `(${total} tries)`;
  const lanes = [...new Set(tries.map((t) => `${t.group} #${t.lane}`))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const laneIndex = new Map(lanes.map((l, i) => [l, i]));
  const now = Date.now();
  const data = tries.map((t) => ({
    value: [laneIndex.get(`${t.group} #${t.lane}`), t.running ?? t.launched ?? now, t.returned ?? now, t.taskId, t.tryId, t.funcName],
    itemStyle: { color: t.failed ? COLORS.failed : t.returned == null ? COLORS.running : COLORS.exec_done },
  }));
  const el = document.getElementById('timeline');
  el.style.height = `${Math.min(800, Math.max(240, lanes.length * 18 + 60))}px`;
  const c = chart('timeline');
  c.resize();
  c.setOption({
    animation: false, grid: { left: 160, right: 20, top: 10, bottom: 30 },
    tooltip: { formatter: (p) => `task ${p.value[3]} try ${p.value[4]} ${esc(p.value[5])}<br>${fmtDur(p.value[2] - p.value[1])}` },
    xAxis: { type: 'time' }, yAxis: { type: 'category', data: lanes, inverse: true },
    dataZoom: [{ type: 'inside', filterMode: 'weakFilter' }],
    series: [{
      type: 'custom', encode: { x: [1, 2], y: 0 }, data, progressive: 5000,
      renderItem: (params, api) => {
        const start = api.coord([api.value(1), api.value(0)]);
        const end = api.coord([api.value(2), api.value(0)]);
        const h = api.size([0, 1])[1] * 0.7;
        return { type: 'rect', shape: { x: start[0], y: start[1] - h / 2, width: Math.max(1, end[0] - start[0]), height: h }, style: api.style() };
      },
    }],
  }, true);
}

let cy;
let graphKey = '';
function renderGraph(run, graph) {
  document.getElementById('graph-note').textContent = graph.level === 'app'
    ? `(${graph.tasks} tasks: one node per app, edges count dependencies)` : `(${graph.tasks} tasks)`;
  const key = `${run}|${graph.level}|${graph.nodes.map((n) => n.id).join(',')}|${graph.edges.length}`;
  if (cy && key === graphKey) {
    for (const n of graph.nodes) cy.getElementById(n.id).data({ state: n.state });
    return;
  }
  graphKey = key;
  cy?.destroy();
  cy = cytoscape({
    container: document.getElementById('graph'),
    elements: [
      ...graph.nodes.map((n) => ({ data: { id: n.id, label: graph.level === 'task' ? n.id : n.label, app: n.label, state: n.state } })),
      ...graph.edges.map((e, i) => ({ data: { id: `e${i}`, source: e.source, target: e.target, label: graph.level === 'app' ? String(e.count) : '' } })),
    ],
    style: [
      { selector: 'node', style: { label: 'data(label)', 'font-size': 9, 'background-color': (n) => COLORS[n.data('state')] ?? '#999', width: 14, height: 14 } },
      { selector: 'edge', style: { width: 1, 'line-color': '#b8bec6', 'target-arrow-shape': 'triangle', 'target-arrow-color': '#b8bec6', 'curve-style': 'bezier', label: 'data(label)', 'font-size': 8 } },
    ],
    layout: { name: 'dagre', rankDir: 'TB', nodeSep: 6, rankSep: 40, animate: false },
  });
  if (graph.level === 'task') cy.on('tap', 'node', (e) => (location.hash = `#/t/${encodeURIComponent(run)}/${e.target.id()}`));
}

function renderResources({ series, blocks, nodes }) {
  const line = (id, name, index, scale) => chart(id).setOption({
    animation: false, title: { text: name, textStyle: { fontSize: 13 } }, tooltip: { trigger: 'axis' },
    grid: { left: 60, right: 20, top: 40, bottom: 30 }, xAxis: { type: 'time' }, yAxis: { type: 'value' },
    series: series.map((s) => ({ name: `${s.hostname} pid ${s.pid ?? '-'}`, type: 'line', symbol: 'none', data: s.points.map((p) => [p[0], p[index] == null ? null : p[index] / scale]) })),
  }, true);
  line('cpu', 'CPU % per node and process', 1, 1);
  line('rss', 'Resident memory (MiB) per node and process', 2, 1048576);
  document.getElementById('blocks').innerHTML = blocks.length === 0 ? '' : `<h2>Blocks</h2><table id="blocks-table"><tr><th>Executor</th><th>Block</th><th>Job</th><th>Status</th><th>At</th></tr>
    ${blocks.map((b) => `<tr><td>${esc(b.executor)}</td><td>${esc(b.blockId)}</td><td>${esc(b.jobId)}</td><td>${esc(b.status)}</td><td>${fmtTime(b.time)}</td></tr>`).join('')}</table>`;
  // One row per node report: a node registers (active), and is marked inactive when its block ends.
  document.getElementById('nodes').innerHTML = nodes.length === 0 ? '' : `<h2>Nodes</h2><table id="nodes-table"><tr><th>Host</th><th>Block</th><th>Cores</th><th>Memory</th><th>Workers</th><th>Active</th><th>At</th></tr>
    ${nodes.map((n) => `<tr><td>${esc(n.hostname)}</td><td>${esc(n.blockId)}</td><td>${n.cpuCount}</td><td>${(n.totalMemory / 1073741824).toFixed(1)} GiB</td><td>${n.workerCount}</td><td>${n.active ? 'yes' : 'no'}</td><td>${fmtTime(n.time)}</td></tr>`).join('')}</table>`;
}

// ---- #/t/<run>/<task> : one task
async function taskView(run, taskId) {
  const t = await api(`task/${encodeURIComponent(run)}/${taskId}`);
  main.dataset.run = '';
  const tail = (name, f) => !f ? '' : `<h2>${name} <span class="muted">${esc(f.path)}${f.exists ? ` (${f.size} bytes)` : ' (missing)'}</span></h2>
    <pre id="${name}">${esc(f.tail)}</pre>`;
  main.innerHTML = `<p><a href="#/w/${encodeURIComponent(run)}">← workflow</a></p>
    <h1>Task ${t.taskId}: ${esc(t.funcName)} <span class="state-${t.state}" id="task-state">${esc(t.state)}</span></h1>
    <table><tr><th>Arguments</th><td id="args"><code>${esc(t.argsSummary)}</code></td></tr>
    <tr><th>Depends on</th><td>${t.depends.map((d) => `<a href="#/t/${encodeURIComponent(run)}/${d}">${d}</a>`).join(' ') || '–'}</td></tr>
    <tr><th>Memoized</th><td>${t.memoize ? `yes, hash ${esc(t.hashsum)}` : 'no'}</td></tr>
    <tr><th>Invoked</th><td>${fmtTime(t.invoked)}</td></tr><tr><th>Returned</th><td>${fmtTime(t.returned)}</td></tr>
    <tr><th>Failed tries</th><td>${t.failCount}</td></tr></table>
    <h2>Tries</h2><table id="tries"><tr><th>Try</th><th>Executor</th><th>Block</th><th>Host</th><th>Launched</th><th>Ran</th><th>Error</th></tr>
    ${t.tries.map((y) => `<tr><td>${y.tryId}</td><td>${esc(y.executor)}</td><td>${esc(y.blockId)}</td><td>${esc(y.hostname)}</td>
      <td>${fmtTime(y.launched)}</td><td>${y.returned && (y.running ?? y.launched) ? fmtDur(y.returned - (y.running ?? y.launched)) : ''}</td>
      <td>${y.errorClass || y.failHistory ? `<b class="state-failed">${esc(y.errorClass ?? '')}</b> ${esc(y.message ?? y.failHistory)}
        ${y.traceback ? `<pre class="stack">${esc(y.traceback)}</pre>` : ''}` : ''}</td></tr>`).join('')}</table>
    <h2>States</h2><table>${t.states.map((s) => `<tr><td class="state-${s.state}">${esc(s.state)}</td><td>try ${s.tryId}</td><td>${fmtTime(s.time)}</td></tr>`).join('')}</table>
    ${tail('stdout', t.stdout)}${tail('stderr', t.stderr)}`;
  ready(`task:${run}:${taskId}`);
}

// ---- routing and live updates
function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'w' && parts[1]) return { key: `w/${parts[1]}`, refresh: () => workflowView(parts[1]) };
  if (parts[0] === 't' && parts[1] && parts[2]) return { key: `t/${parts[1]}/${parts[2]}`, refresh: () => taskView(parts[1], parts[2]) };
  return { key: 'workflows', refresh: workflowsView };
}

async function refresh() {
  if (busy) return void (again = true);
  busy = true;
  try {
    await current.refresh();
  } catch (error) {
    main.insertAdjacentHTML('afterbegin', `<p class="state-failed">${esc(error.message)}</p>`);
    document.body.dataset.error = error.message;
  } finally {
    busy = false;
    if (again) {
      again = false;
      void refresh();
    }
  }
}

function navigate() {
  current = route();
  for (const c of charts.splice(0)) c.dispose();
  cy?.destroy();
  cy = undefined;
  graphKey = '';
  main.dataset.run = '';
  main.innerHTML = '';
  document.body.dataset.ready = '';
  document.body.dataset.overview = '';
  void refresh();
}

window.addEventListener('hashchange', navigate);
window.addEventListener('resize', () => charts.forEach((c) => c.resize()));
const events = new EventSource('/api/events');
events.addEventListener('hello', () => document.getElementById('live').classList.add('on'));
events.addEventListener('change', () => void refresh());
events.onerror = () => document.getElementById('live').classList.remove('on');
navigate();
