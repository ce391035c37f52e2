import { chromium } from 'playwright-core';
const B='http://127.0.0.1:18232';
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox','--headless=new'] });
const p = await b.newPage();
await p.goto(B+'/login'); await p.fill('input[name=username]','publisher'); await p.fill('input[name=password]','cityhall-demo');
await p.click('form:has([name=username]) button'); await p.waitForURL(/account/);
await p.goto(B+'/dataset/new'); const id=Date.now().toString(36);
await p.fill('#title_vi','Nháp thử '+id); await p.fill('#tags','a, b'); await p.click('[data-testid=od-save]'); await p.waitForURL(/dataset\/[a-z0-9-]+$/);
const ds=p.url(); console.log('dataset', ds);
await p.setInputFiles('[data-testid=od-upload]', {name:'x.csv', mimeType:'text/csv', buffer: Buffer.from('a,b\n1,2\n')});
await p.click('[data-testid=od-add-resource]'); await p.waitForURL(/resource/);
console.log('resource', p.url());
const dl = await p.getAttribute('[data-testid=od-download]','href'); console.log('download', dl);
// Windows-1258 and a BOM
await p.goto(ds);
await p.setInputFiles('[data-testid=od-upload]', {name:'bom.csv', mimeType:'text/csv', buffer: Buffer.concat([Buffer.from([0xef,0xbb,0xbf]), Buffer.from('tên,số\nHà Nội,1\n')])});
await p.click('[data-testid=od-add-resource]'); await p.waitForLoadState();
console.log('bom ->', p.url(), await p.locator('table[data-testid=od-preview] thead').innerText().catch(()=>'-'));
// empty submit
await p.goto(ds); await p.click('[data-testid=od-add-resource]'); await p.waitForLoadState();
console.log('empty ->', p.url(), await p.locator('[role=alert]').innerText().catch(()=>'no alert'));
// a JSON upload
await p.goto(ds);
await p.setInputFiles('[data-testid=od-upload]', {name:'d.json', mimeType:'application/json', buffer: Buffer.from('{"a":1}')});
await p.click('[data-testid=od-add-resource]'); await p.waitForLoadState();
console.log('json ->', p.url(), await p.locator('h1').innerText());
// retype to an impossible type: a -> date
await p.goto(ds); 
const first = await p.locator('[data-testid=od-resources] > li a').first().getAttribute('href');
await p.goto(B+first); await p.selectOption('#type_1','date'); await p.click('[data-testid=od-retype]'); await p.waitForLoadState();
console.log('retype bad ->', p.url(), await p.locator('[role=alert]').innerText().catch(()=>'no alert'));
// delete the resource
await p.goto(B+first); await p.click('button.danger'); await p.waitForLoadState(); console.log('delete ->', p.url());
// edit with stale row_version
await p.goto(ds+'/edit'); await p.locator('input[name=row_version]').evaluate(e=>e.value='0'); await p.click('[data-testid=od-save]'); await p.waitForLoadState();
console.log('stale ->', p.url(), await p.locator('[role=alert]').innerText().catch(()=>'no alert'));
console.log('title', await p.title());
await b.close();
console.log(JSON.stringify({ds, dl}));
