/// <reference lib="dom" />
import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { WorkflowClient } from '../../lib';
import { dropSchema, sql, uniqueSchema } from '../support/database';
import { Shop, startDashboardApp } from '../support/dashboard-app';
import { waitFor } from '../support/wait';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The screenshots docs/dashboard.md shows are the ones this test takes. */
const SHOTS = join(__dirname, '..', '..', 'docs', 'dashboard');
const describeInChromium = existsSync(CHROMIUM) ? describe : describe.skip;
const suiteName = existsSync(CHROMIUM) ? 'dashboard in Chromium' : `dashboard in Chromium (SKIPPED: no browser at ${CHROMIUM}; apt-get install chromium)`;

describeInChromium(suiteName, () => {
  const schema = uniqueSchema('dash_ui');
  let app: INestApplication;
  let client: WorkflowClient;
  let browser: Browser;
  let page: Page;
  let base: string;
  /** A second, read-only mount of the dashboard in the same app. */
  let viewBase: string;
  const pageErrors: string[] = [];
  /** What the page's Content-Security-Policy refused (an inline script or style attribute, say): Chromium logs each. */
  const cspViolations: string[] = [];
  const watchCsp = (p: Page) => p.on('console', (m) => m.text().includes('Content Security Policy') && cspViolations.push(m.text()));
  const statusOf = async (id: string) =>
    (await sql<{ status: string }>(`SELECT status FROM ${schema}.workflow_status WHERE workflow_id = $1`, [id]))[0]?.status;
  /** The distinct baselines of the first lines of these cells (one when they sit level). */
  const baselines = (cells: Locator) =>
    cells.evaluateAll((tds) => [
      ...new Set(
        tds.map((td) => {
          // An empty inline-block's bottom edge is its baseline: put one before the cell's text, read it, take it away.
          const probe = td.insertBefore(document.createElement('span'), td.firstChild);
          probe.style.display = 'inline-block';
          const y = probe.getBoundingClientRect().bottom;
          probe.remove();
          return Math.round(y);
        }),
      ),
    ]);
  /** The whole page, or with `viewport` what the window shows (a modal dialog's backdrop covers the window, not the page). */
  const shot = (name: string, viewport = false) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: !viewport });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    app = await startDashboardApp(schema, [{ path: '/dbos' }, { path: '/dbos-view', readOnly: true }]);
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/dbos`;
    viewBase = `${base}-view`;
    client = app.get(WorkflowClient);
    for (let i = 1; i <= 6; i++) await (await client.start(Shop, { workflowId: `order-${1000 + i}` }).order(`sku-${i}`, 10 * i)).getResult();
    const failing = await client.start(Shop, { workflowId: 'order-1007' }).order('<img src=x onerror="window.__pwned = true">', -5);
    await failing.getResult().catch(() => undefined);
    await client.enqueue({ workflowName: 'Shop.order', queue: 'backlog', workflowId: 'order-1008' }, 'sku-8', 80);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    watchCsp(page);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await dropSchema(schema);
  });

  it('lists the workflows and shows a new one without a reload', async () => {
    await page.goto(`${base}#/workflows`);
    await page.locator('#live.chip-live').waitFor();
    await page.locator('tr[data-id="order-1007"][data-status="ERROR"]').waitFor();
    expect(await page.locator('#workflows tbody tr').count()).toBe(8);
    await client.start(Shop, { workflowId: 'order-1009' }).approval('sku-9');
    await page.locator('tr[data-id="order-1009"][data-status="PENDING"]').waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => performance.getEntriesByType('navigation').length)).toBe(1);
    await page.waitForTimeout(2_100); // the new row's highlight fades
    // The cells' first lines share one baseline: the monospace id, executor and version cells sit level with the rest.
    expect(await baselines(page.locator('tr[data-id="order-1007"] td'))).toHaveLength(1);
    await shot('workflows');
  });

  it('opens a workflow and shows its steps; cancels it and resumes it, each after a confirmation', async () => {
    await page.locator('tr[data-id="order-1009"] a').click();
    await page.locator('.timeline li.step').first().waitFor();
    expect(await page.locator('.timeline li.step .step-name').first().textContent()).toBe('Shop.reserve');
    await page.locator('#cancel').click();
    await page.locator('dialog.confirm[open]').waitFor();
    await shot('confirm-cancel', true);
    expect(await statusOf('order-1009')).toBe('PENDING');
    await page.locator('dialog.confirm [data-confirm]').click();
    await page.locator('.toast-ok').first().waitFor();
    expect(await statusOf('order-1009')).toBe('CANCELLED');
    await page.locator('h1 .badge', { hasText: 'CANCELLED' }).waitFor();
    await page.locator('#resume').click();
    await page.locator('dialog.confirm [data-confirm]').click();
    await waitFor(async () => (await statusOf('order-1009')) === 'PENDING');
    await page.locator('h1 .badge', { hasText: 'PENDING' }).waitFor();
  });

  it('forks a workflow from step 2 and opens the fork', async () => {
    await page.goto(`${base}#/workflow/order-1003`);
    await page.locator('[data-fork="2"]').click();
    await page.locator('dialog.confirm[open]', { hasText: 'Fork from step 2' }).waitFor();
    await page.locator('dialog.confirm [data-confirm]').click();
    // The page opens the fork once it exists (the fork's facts name the workflow it was forked from).
    await page.waitForURL((url) => url.hash.startsWith('#/workflow/') && url.hash !== '#/workflow/order-1003');
    await page.locator('.facts', { hasText: 'order-1003' }).waitFor();
    const forks = await sql<{ workflow_id: string }>(`SELECT workflow_id FROM ${schema}.workflow_status WHERE forked_from = 'order-1003'`);
    expect(forks).toHaveLength(1);
    expect(page.url()).toContain(`#/workflow/${forks[0].workflow_id}`);
    await expect(client.retrieve(forks[0].workflow_id).getResult()).resolves.toBe('paid 30');
  });

  it('shows a failed workflow: its error and stack as text, no script from the payload runs', async () => {
    await page.goto(`${base}#/workflow/order-1007`);
    await page.locator('.error-box').first().waitFor();
    const title = await page.locator('.card .error-title').first().textContent();
    expect(title).toContain('<script>window.__pwned = true</script>');
    // The inputs are shown as JSON: the payload is a string literal, as text.
    expect(await page.locator('.card').first().textContent()).toContain(JSON.stringify('<img src=x onerror="window.__pwned = true">'));
    await page.locator('.card .stack summary').first().click();
    expect(await page.locator('.card .stack pre').first().textContent()).toContain('RangeError');
    expect(await page.evaluate(() => (window as unknown as { __pwned?: boolean }).__pwned)).toBeUndefined();
    expect(await page.locator('.card script, .card img').count()).toBe(0);
  });

  it('shows a workflow output holding markup as text, and no script from it runs', async () => {
    const markup = { receipt: '<img src=x onerror="window.__pwned = true"><script>window.__pwned = true</script>', note: '<b>thanks</b>' };
    await expect((await client.start(Shop, { workflowId: 'echo-markup' }).echo(markup)).getResult()).resolves.toEqual(markup);
    await page.goto(`${base}#/workflow/echo-markup`);
    const output = page.locator('section.card', { has: page.locator('h2', { hasText: /^Output$/ }) });
    await output.locator('.json').first().waitFor();
    const text = await output.textContent();
    expect(text).toContain(JSON.stringify(markup.receipt));
    expect(text).toContain(JSON.stringify(markup.note));
    expect(await page.locator('.card script, .card img, .card b').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: boolean }).__pwned)).toBeUndefined();
  });

  it('links a parent and its children both ways, and shows its events and an unconsumed message', async () => {
    await expect((await client.start(Shop, { workflowId: 'basket-7' }).basket(['lamp', 'desk'])).getResult()).resolves.toEqual(['paid 10', 'paid 20']);
    await client.send('basket-7', { text: 'Happy birthday!' }, 'gift-note');
    await page.goto(`${base}#/workflow/basket-7`);
    const card = (title: RegExp) => page.locator('section.card', { has: page.locator('h2', { hasText: title }) });
    await card(/^Children \(2\)$/).waitFor();
    expect(
      await card(/^Children/)
        .locator('a')
        .allTextContents(),
    ).toEqual(['basket-7-1', 'basket-7-2']);
    expect(await page.locator('.timeline .step-child a').allTextContents()).toEqual(['basket-7-1', 'basket-7-2']);
    expect(await card(/^Events \(2\)$/).textContent()).toContain('all paid');
    expect(await card(/^Unconsumed messages \(1\)$/).textContent()).toContain('Happy birthday!');
    await shot('workflow');
    await card(/^Children/)
      .locator('a', { hasText: 'basket-7-2' })
      .click();
    await page.waitForURL((url) => url.hash === '#/workflow/basket-7-2');
    const parent = page.locator('.facts .fact', { has: page.locator('dt', { hasText: 'Parent' }) }).locator('a');
    expect(await parent.textContent()).toBe('basket-7');
    expect(await card(/^Input$/).textContent()).toContain('"desk"');
    await parent.click();
    await page.waitForURL((url) => url.hash === '#/workflow/basket-7');
    await card(/^Children \(2\)$/).waitFor();
  });

  it('filters by status from the form; the filter is in the URL, so a link shows the same view', async () => {
    await page.goto(`${base}#/workflows`);
    await page.locator('#filters select[name="status"]').selectOption('ERROR');
    await page.locator('#filters button[type="submit"]').click();
    await page.waitForFunction(() => location.hash.includes('status=ERROR'));
    await page.locator('#workflows tbody tr').first().waitFor();
    expect(await page.locator('#workflows tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')))).toEqual(['order-1007']);
    const other = await browser.newPage();
    await other.goto(page.url());
    await other.locator('#workflows tbody tr').first().waitFor();
    expect(await other.locator('#workflows tbody tr').count()).toBe(1);
    expect(await other.locator('#filters select[name="status"]').inputValue()).toBe('ERROR');
    await other.close();
    await page.goto(`${base}#/workflows?status=NOPE`);
    expect(await page.locator('.alert-bad').textContent()).toContain('Unknown status "NOPE"');
  });

  it('shows the queues, executors and overview pages', async () => {
    await page.goto(`${base}#/queues`);
    await page.locator('tr[data-queue="backlog"]').waitFor();
    expect(await page.locator('tr[data-queue="backlog"] td').nth(1).textContent()).toBe('1');
    expect(await page.locator('tr[data-queue="orders"] td').nth(4).textContent()).toBe('3');
    await shot('queues');
    // Two workflows left by an older build (v0) whose executors are gone; one's record no longer fits this code.
    for (const id of ['order-0901', 'order-0902']) await client.start(Shop, { workflowId: id }).approval('sku-9');
    await waitFor(async () => (await sql(`SELECT 1 FROM ${schema}.operation_outputs WHERE workflow_id LIKE 'order-090%' AND step_id = 0`)).length === 2);
    await sql(`UPDATE ${schema}.workflow_status SET application_version = 'v0' WHERE workflow_id LIKE 'order-090%'`);
    await sql(`UPDATE ${schema}.operation_outputs SET step_name = 'Shop.hold' WHERE workflow_id = 'order-0902' AND step_id = 0`);
    await page.goto(`${base}#/executors`);
    await page.locator('text=dash-exec').first().waitFor();
    await page.locator('tr[data-verdict="diverges"]').waitFor();
    expect(await page.locator('tr[data-verdict="diverges"]').textContent()).toContain('step 0: recorded "Shop.hold", this code calls "Shop.reserve"');
    expect(await page.locator('tr[data-verdict="replays"]').textContent()).toContain('order-0901');
    await shot('executors');
    await client.cancel(['order-0901', 'order-0902']);
    await page.goto(`${base}#/overview`);
    await page.locator('.chart canvas').first().waitFor();
    await shot('overview');
    // Hovering a bucket shows its time and counts in the chart's legend.
    const hourChart = page.locator('.chart').first();
    const values = hourChart.locator('.u-legend .u-value');
    expect(await values.allTextContents()).toEqual(['—', '—', '—', '—']);
    const over = (await hourChart.locator('.u-over').boundingBox())!;
    await page.mouse.move(over.x + over.width - 4, over.y + over.height / 2);
    await page.waitForFunction(() => !document.querySelector('.chart .u-legend .u-value')?.textContent?.includes('—'));
    const [at, ...counts] = await values.allTextContents();
    expect(at).toMatch(/^\d\d:\d\d$/);
    expect(counts.map(Number).every((n) => Number.isInteger(n) && n >= 0)).toBe(true);
    // All of the day's workflows are of the last minutes: its chart starts an hour before them (six hours shown), and says so.
    const dayChart = page.locator('.chart').nth(1);
    const dayOver = (await dayChart.locator('.u-over').boundingBox())!;
    await page.mouse.move(dayOver.x + 4, dayOver.y + dayOver.height / 2);
    await page.waitForFunction(() => !document.querySelectorAll('.chart')[1].querySelector('.u-legend .u-value')?.textContent?.includes('—'));
    const dayStart = (await dayChart.locator('.u-legend .u-value').first().textContent())!;
    expect(await page.locator('.chart-note').nth(1).textContent()).toBe(`Nothing earlier than ${dayStart} in this period.`);
    expect((new Date().getHours() - Number(dayStart.slice(0, 2)) + 24) % 24).toBe(5);
    // Step latency percentiles per workflow name as bars; hovering a name's bars shows its figures, the table's.
    const latency = page.locator('#latency');
    const latencyOver = (await latency.locator('.u-over').boundingBox())!;
    const shown: Record<string, string[]> = {};
    for (let at = 0.01; at < 1; at += 0.02) {
      await page.mouse.move(latencyOver.x + latencyOver.width * at, latencyOver.y + latencyOver.height / 2);
      await page.waitForFunction(() => !document.querySelector('#latency .u-legend .u-value')?.textContent?.includes('—'));
      const [name, ...percentiles] = await latency.locator('.u-legend .u-value').allTextContents();
      shown[name] = percentiles;
    }
    const table = await latency
      .locator('table.grid tbody tr')
      .evaluateAll((rows) => rows.map((r) => Array.from(r.querySelectorAll('td')).map((td) => td.textContent)).map(([name, , ...p]) => [name, p]));
    expect(shown).toEqual(Object.fromEntries(table));
    expect(Object.keys(shown)).toEqual(expect.arrayContaining(['Shop.approval', 'Shop.basket', 'Shop.order']));
  });

  it('pages through the workflows with the cursor, back with Previous and Newest, and clears the filters', async () => {
    const ids = async () => page.locator('#workflows tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
    /** The first page is shown (not the later one it replaces). */
    const firstPageShown = () => page.locator('.pager .muted', { hasText: /^3 shown$/ }).waitFor();
    await page.goto(`${base}#/workflows?name=Shop.order&limit=3`);
    await page.locator('#workflows tbody tr').first().waitFor();
    const first = await ids();
    expect(first).toHaveLength(3);
    await page.locator('.pager button', { hasText: 'Next' }).click();
    await page.locator('.pager', { hasText: 'a later page' }).waitFor();
    expect(page.url()).toContain('cursor=');
    const second = await ids();
    expect(second).toHaveLength(3);
    expect(second.filter((id) => first.includes(id))).toEqual([]);
    await page.locator('.pager button', { hasText: 'Previous' }).click();
    await page.waitForFunction(() => !location.hash.includes('cursor='));
    await firstPageShown();
    expect(await ids()).toEqual(first);
    await page.locator('.pager button', { hasText: 'Next' }).click();
    await page.locator('.pager button', { hasText: 'Newest' }).click();
    await page.waitForFunction(() => !location.hash.includes('cursor='));
    await firstPageShown();
    expect(await ids()).toEqual(first);
    expect(await page.locator('#filters input[name="name"]').inputValue()).toBe('Shop.order');
    await page.locator('#filters button', { hasText: 'Clear' }).click();
    await page.waitForFunction(() => location.hash === '#/workflows');
    await page.locator('.pager .muted', { hasText: /^\d+ shown$/ }).waitFor();
    expect(await page.locator('#filters input[name="name"]').inputValue()).toBe('');
    expect(await page.locator('#workflows tbody tr').count()).toBeGreaterThan(3);
  });

  it("moves a version's unfinished work to the current version after a confirmation, and shows the result", async () => {
    const versionOf = async (id: string) =>
      (await sql<{ v: string | null }>(`SELECT application_version AS v FROM ${schema}.workflow_status WHERE workflow_id = $1`, [id]))[0].v;
    expect(await versionOf('order-1008')).toBeNull();
    await page.goto(`${base}#/executors`);
    const unversioned = page.locator('tr[data-version=""]');
    await unversioned.locator('button', { hasText: 'Move to current version' }).click();
    await page.locator('dialog.confirm[open]', { hasText: 'move to v2' }).waitFor();
    await page.locator('dialog.confirm button', { hasText: 'Keep as is' }).click();
    await page.locator('dialog.confirm').waitFor({ state: 'detached' });
    expect(await versionOf('order-1008')).toBeNull();
    await unversioned.locator('button', { hasText: 'Move to current version' }).click();
    await page.locator('dialog.confirm [data-confirm]').click();
    await page.locator('.toast-ok', { hasText: '1 workflow(s) moved to v2.' }).waitFor();
    expect(await versionOf('order-1008')).toBe('v2');
    await unversioned.waitFor({ state: 'detached' });
  });

  it('filters by attributes from the form, in the URL, and a live update only adds a workflow that has them', async () => {
    await (await client.start(Shop, { workflowId: 'tagged-eu', attributes: { tenant: 'acme', region: 'eu' } }).order('eu', 1)).getResult();
    await page.goto(`${base}#/workflows`);
    await page.locator('#filters input[name="attr"]').fill('tenant=acme, region=eu');
    await page.locator('#filters button[type="submit"]').click();
    await page.waitForFunction(() => location.hash.includes('attr='));
    await page.locator('#workflows tbody tr[data-id="tagged-eu"]').waitFor();
    // Started while the page is open: the one with the attributes appears live, the other does not.
    await (await client.start(Shop, { workflowId: 'tagged-us', attributes: { tenant: 'acme', region: 'us' } }).order('us', 1)).getResult();
    await (await client.start(Shop, { workflowId: 'tagged-eu-2', attributes: { tenant: 'acme', region: 'eu' } }).order('eu2', 1)).getResult();
    await page.locator('#workflows tbody tr[data-id="tagged-eu-2"]').waitFor();
    expect(await page.locator('#workflows tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')))).toEqual(['tagged-eu-2', 'tagged-eu']);
  });

  it('shows the failed attempts of a retried step in the timeline', async () => {
    Shop.shipFailures.set('d-9', 2);
    await (await client.start(Shop, { workflowId: 'deliver-9' }).delivery('d-9')).getResult();
    await page.goto(`${base}#/workflow/deliver-9`);
    const attempts = page.locator('li[data-step="1"] .step-attempts li');
    await attempts.first().waitFor();
    expect(await attempts.allTextContents()).toEqual([
      expect.stringMatching(/^Attempt 1 .*carrier timeout for d-9 \(2 left\)$/),
      expect.stringMatching(/^Attempt 2 .*carrier timeout for d-9 \(1 left\)$/),
    ]);
    await shot('workflow-retries');
  });

  it('read-only mount: the same workflows without an action button, on the workflow and executors pages', async () => {
    await client.start(Shop, { workflowId: 'held-ro' }).approval('vase');
    await client.enqueue({ workflowName: 'Shop.order', queue: 'backlog', workflowId: 'old-ro', applicationVersion: 'v1' }, 'sku', 1);
    await waitFor(async () => (await sql(`SELECT 1 FROM ${schema}.operation_outputs WHERE workflow_id = 'held-ro'`)).length > 0);
    const view = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    view.on('pageerror', (err) => pageErrors.push(err.message));
    watchCsp(view);
    try {
      const buttons = '#cancel, #resume, [data-fork], button:has-text("Move to current version")';
      // Each page, first where actions are allowed (so the buttons looked for exist), then read-only.
      for (const [hash, ready] of [
        ['#/workflow/held-ro', '#cancel'],
        ['#/workflow/order-1007', '#resume'],
        ['#/executors', 'tr[data-version="v1"] button'],
      ]) {
        await page.goto(`${base}${hash}`);
        await page.locator(ready).waitFor();
        expect(await page.locator(buttons).count()).toBeGreaterThan(0);
        await view.goto(`${viewBase}${hash}`);
        await view
          .locator(hash === '#/executors' ? 'tr[data-version="v1"]' : '.timeline li.step')
          .first()
          .waitFor();
        expect({ hash, buttons: await view.locator(buttons).count() }).toEqual({ hash, buttons: 0 });
      }
    } finally {
      await view.close();
      await client.cancel(['held-ro', 'old-ro']);
    }
  });

  it("shows a refused action's message on the page: cancel of a workflow that finished after the page loaded (409)", async () => {
    await client.start(Shop, { workflowId: 'late-cancel' }).approval('rug');
    await waitFor(async () => (await sql(`SELECT 1 FROM ${schema}.operation_outputs WHERE workflow_id = 'late-cancel'`)).length > 0);
    await page.goto(`${base}#/workflow/late-cancel`);
    await page.locator('#cancel').waitFor();
    await client.send('late-cancel', true, 'approve');
    await expect(client.retrieve('late-cancel').getResult()).resolves.toBe('paid 1');
    await page.locator('#cancel').click();
    await page.locator('dialog.confirm [data-confirm]').click();
    const notice = page.locator('.toast-error');
    await notice.waitFor();
    expect(await notice.textContent()).toBe('Workflow "late-cancel" is SUCCESS: only ENQUEUED or PENDING workflows can be cancelled.');
    expect(await statusOf('late-cancel')).toBe('SUCCESS');
  });

  it('fits a phone-width screen: nothing wider than the screen but the tables, which scroll; the charts fit their cards', async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    watchCsp(phone);
    await phone.goto(`${base}#/workflows`);
    await phone.locator('#workflows tbody tr').first().waitFor();
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await phone.screenshot({ path: join(SHOTS, 'workflows-phone.png') });
    // The chart takes its card's width, and a workflow's facts and timeline wrap.
    await phone.goto(`${base}#/overview`);
    await phone.locator('.chart canvas').first().waitFor();
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const chartWidths = await phone.locator('.chart canvas').evaluateAll((canvases) => canvases.map((c) => c.getBoundingClientRect().width));
    expect(chartWidths).toHaveLength(3);
    for (const width of chartWidths) expect(width).toBeGreaterThan(250);
    await phone.screenshot({ path: join(SHOTS, 'overview-phone.png'), fullPage: true });
    // The queues' and executors' tables scroll inside their cards.
    for (const [hash, row] of [
      ['#/queues', 'tr[data-queue="backlog"]'],
      ['#/executors', 'text=dash-exec'],
    ]) {
      await phone.goto(`${base}${hash}`);
      await phone.locator(row).first().waitFor();
      const width = await phone.evaluate(() => document.documentElement.scrollWidth);
      expect({ hash, fits: width <= 390 }).toEqual({ hash, fits: true });
    }
    // A row with a button: its label keeps one line (a wrapped one would set the row's baseline at its last line).
    await client.enqueue({ workflowName: 'Shop.order', queue: 'backlog', workflowId: 'old-phone', applicationVersion: 'v1' }, 'sku', 1);
    await phone.reload();
    await phone.locator('tr[data-version="v1"] button').waitFor();
    const labelLines = await phone.locator('tr[data-version="v1"] button').evaluate((button) => {
      const label = document.createRange();
      label.selectNodeContents(button);
      return new Set(Array.from(label.getClientRects()).map((r) => Math.round(r.top))).size;
    });
    expect(labelLines).toBe(1);
    await client.cancel('old-phone');
    await phone.goto(`${base}#/workflow/order-1007`);
    await phone.locator('.timeline li.step').first().waitFor();
    // A step's name wraps after a dot if it must, never inside a word ("DBOS.writeStrea" / "m").
    const brokenWords = await phone.locator('.step-name').evaluateAll((names) => {
      const broken: string[] = [];
      for (const name of names) {
        const texts = document.createTreeWalker(name, NodeFilter.SHOW_TEXT);
        for (let node = texts.nextNode(); node; node = texts.nextNode()) {
          let at = 0;
          for (const word of (node.textContent ?? '').split('.')) {
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + word.length);
            if (new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top))).size > 1) broken.push(`${name.textContent}: ${word}`);
            at += word.length + 1;
          }
        }
      }
      return broken;
    });
    expect(brokenWords).toEqual([]);
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await phone.screenshot({ path: join(SHOTS, 'workflow-phone.png'), fullPage: true });
    await phone.close();
    expect(pageErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
  });
});
