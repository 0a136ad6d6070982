// standalone.mjs - the real kubectl against virtrigaud-manager
// --standalone (started on a free port with --crd-dir crds/, stopped by
// PID): the kinds are served, every example applies, every bad manifest is
// refused with the field named, printer columns and kubectl scale work.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

import {
    GROUP, HERE, ROOT, check, fail, listYAML, readDocs, rel, skip,
} from './common.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function findManager() {
    const build = process.env.BUILD || path.join(ROOT, 'build');
    const bin = path.join(build, 'bin', 'virtrigaud-manager');
    try {
        fs.accessSync(bin, fs.constants.X_OK);
        return bin;
    } catch (e) {
        return null;
    }
}

export async function checkStandalone(crds) {
    const name = 'standalone API server + kubectl';
    const manager = findManager();
    const kubectlOk = spawnSync('kubectl', ['version', '--client'],
                                { encoding: 'utf8' });
    if (!manager || kubectlOk.error || kubectlOk.status !== 0) {
        skip(name, manager ? 'kubectl is not installed'
            : 'virtrigaud-manager is not built ($BUILD/bin)');
        return;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vrt-crds-'));
    const logFd = fs.openSync(path.join(dir, 'manager.log'), 'w');
    const child = spawn(manager, [
        '--standalone', '--data-dir', path.join(dir, 'data'), '--port', '0',
        '--no-controller', '--crd-dir', path.join(ROOT, 'crds')],
    { stdio: ['ignore', logFd, logFd] });
    let exited = false;
    child.on('exit', () => { exited = true; });
    const kubeconfig = path.join(dir, 'data', 'kubeconfig');
    const kubectl = (...args) => spawnSync('kubectl', [
        '--kubeconfig', kubeconfig, '--request-timeout=20s', ...args],
    { encoding: 'utf8' });
    try {
        for (let i = 0; i < 300 && !exited && !fs.existsSync(kubeconfig); i++)
            await sleep(50);
        if (!fs.existsSync(kubeconfig)) {
            fail(`${name}: starts`, 'no kubeconfig after 15 s',
                 fs.readFileSync(path.join(dir, 'manager.log'), 'utf8')
                     .trim().split('\n').slice(-10));
            return;
        }
        check(`${name}: serves the ten kinds`, () => {
            const r = kubectl('api-resources', '--api-group', GROUP,
                              '-o', 'name');
            if (r.status !== 0)
                return [r.stderr.trim()];
            const served = new Set(r.stdout.trim().split('\n'));
            return [...crds.values()]
                .map((c) => `${c.doc.spec.names.plural}.${GROUP}`)
                .filter((n) => !served.has(n)).map((n) => `${n} not served`);
        });
        // The quickstart first: the others refer to its objects.
        const examples = listYAML(path.join(ROOT, 'examples'))
            .sort((a, b) => /quickstart/.test(b) - /quickstart/.test(a));
        for (const file of examples) {
            check(`${name}: kubectl apply -f ${rel(file)}`, () => {
                const r = kubectl('apply', '-f', file);
                return r.status === 0 ? [] : r.stderr.trim().split('\n');
            });
        }
        check(`${name}: kubectl get shows the printer columns`, () => {
            const r = kubectl('get', 'vm', '-o', 'wide');
            if (r.status !== 0)
                return [r.stderr.trim()];
            const head = r.stdout.split('\n')[0].split(/\s+/);
            const want = crds.get('VirtualMachine').doc.spec.versions[0]
                .additionalPrinterColumns.map((c) => c.name.toUpperCase());
            return want.filter((c) => !head.includes(c))
                .map((c) => `no ${c} column in: ${r.stdout.split('\n')[0]}`);
        });
        check(`${name}: kubectl scale works on a VMSet`, () => {
            const vmset = listYAML(path.join(ROOT, 'examples'))
                .flatMap((f) => readDocs(f).docs.map((d) => d.value))
                .find((o) => o.kind === 'VMSet');
            if (!vmset)
                return ['no VMSet example'];
            const r = kubectl('scale', `vmsets.${GROUP}/${vmset.metadata.name}`,
                              '--replicas=2');
            if (r.status !== 0)
                return [r.stderr.trim()];
            const g = kubectl('get', `vmsets.${GROUP}`, vmset.metadata.name,
                              '-o', 'jsonpath={.spec.replicas}');
            return g.stdout === '2' ? [] : [`spec.replicas is ${g.stdout}`];
        });
        for (const file of listYAML(path.join(HERE, 'bad'))) {
            const text = fs.readFileSync(file, 'utf8');
            const m = /^# expect: (\S+) /m.exec(text);
            check(`${name}: kubectl apply -f ${rel(file)} is refused`, () => {
                const r = kubectl('apply', '-f', file);
                if (r.status === 0)
                    return ['accepted'];
                const field = m ? m[1].replace(/\[[0-9]+\]/g, '') : '';
                return r.stderr.replace(/\[[0-9]+\]/g, '').includes(field) ? []
                    : [`the error does not name ${m && m[1]}`,
                       r.stderr.trim()];
            });
        }
    } finally {
        if (!exited)
            child.kill('SIGTERM');
        for (let i = 0; i < 200 && !exited; i++)
            await sleep(50);
        if (!exited) {
            child.kill('SIGKILL');
            await sleep(100);
        }
        fs.closeSync(logFd);
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

