'use strict';
// qemu.js - the simulator's /nodes/{node}/qemu handlers: create, list,
// config, status and power, clone, resize, snapshots, destroy, template and
// the guest agent.  Changes run as tasks under the VM's config lock, with
// the error messages PVE gives.
//
// A SIMULATOR for tests, not Proxmox VE.

const crypto = require('node:crypto');
const { PveError, sleep } = require('./state');

const DISK_KEY = /^(scsi|virtio|sata|ide|efidisk|tpmstate)\d+$/;

function memMiB(v) {
    if (v === undefined) return 512;
    const m = /^(?:current=)?(\d+)/.exec(String(v));
    return m ? Number(m[1]) : 512;
}

function mac(vmid, i) {
    const h = crypto.createHash('sha1').update(`${vmid}/${i}/${Date.now()}`).digest('hex');
    return `BC:24:11:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}`.toUpperCase();
}

// Checks the urlencoded sshkeys value holds valid public keys, as PVE does
// after decoding it.
function checkSshKeys(v) {
    let keys;
    try { keys = decodeURIComponent(v); } catch (e) {
        throw new PveError(400, 'Parameter verification failed.', { sshkeys: 'invalid urlencoded string: ' + v });
    }
    for (const line of keys.split('\n')) {
        if (!line.trim()) continue;
        if (!/^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp\d+|sk-\S+) [A-Za-z0-9+/=]+( .*)?$/.test(line.trim()))
            throw new PveError(500, 'SSH public key validation error');
    }
}

// Turns a disk or NIC value as given into the value PVE stores:
// "local-lvm:8" allocates an 8 GiB volume, "virtio,bridge=vmbr0" gets a MAC.
async function materialise(st, vm, key, value, diskSeq) {
    if (/^net\d+$/.test(key)) {
        const parts = value.split(',');
        const m = /^(virtio|e1000|e1000e|rtl8139|vmxnet3)(=.*)?$/.exec(parts[0]);
        if (!m) throw new PveError(400, 'Parameter verification failed.', { [key]: `invalid format - format error\n${key}.model: property is missing and it is not optional` });
        if (!m[2]) parts[0] = `${m[1]}=${mac(vm.vmid, key)}`;
        if (!parts.some((p) => p.startsWith('bridge=')))
            throw new PveError(400, 'Parameter verification failed.', { [key]: 'bridge is required' });
        return parts.join(',');
    }
    if (!DISK_KEY.test(key)) return value;
    const parts = value.split(',');
    const vol = /^([a-z][a-z0-9-]*):(\d+|cloudinit)$/.exec(parts[0]);
    if (!vol) return value; /* an existing volume or "none" */
    if (vol[2] === 'cloudinit') {
        const name = await st.allocDisk(vol[1], `vm-${vm.vmid}-cloudinit`);
        return `${name},media=cdrom`;
    }
    const n = diskSeq.n++;
    const name = await st.allocDisk(vol[1], `vm-${vm.vmid}-disk-${n}`);
    return [name, ...parts.slice(1).filter((p) => !p.startsWith('size=')), `size=${vol[2]}G`].join(',');
}

async function applyConfig(st, vm, values) {
    const diskSeq = { n: Object.keys(vm.conf).filter((k) => DISK_KEY.test(k)).length };
    if (values.sshkeys !== undefined) checkSshKeys(values.sshkeys);
    if (values.delete)
        for (const k of values.delete.split(/[,; ]/).filter(Boolean)) delete vm.conf[k];
    for (const [k, v] of Object.entries(values)) {
        if (['delete', 'digest', 'revert', 'skiplock', 'vmid', 'start'].includes(k)) continue;
        vm.conf[k] = typeof v === "number" ? v : await materialise(st, vm, k, String(v), diskSeq);
    }
}

function running(vm) { return vm.status === 'running'; }

function ips(vm) {
    const m = /ip=([0-9.]+)\//.exec(vm.conf.ipconfig0 || '');
    return m ? m[1] : `10.99.${(vm.vmid >> 8) & 255}.${vm.vmid & 255}`;
}

function listEntry(vm) {
    const e = {
        vmid: vm.vmid, name: vm.conf.name || `VM ${vm.vmid}`, status: vm.status,
        cpus: (vm.conf.cores || 1) * (vm.conf.sockets || 1), maxmem: memMiB(vm.conf.memory) * 1048576,
        mem: running(vm) ? memMiB(vm.conf.memory) * 524288 : 0, maxdisk: diskBytes(vm), disk: 0,
        uptime: running(vm) ? Math.floor((Date.now() - vm.startedAt) / 1000) : 0,
        netin: 0, netout: 0, diskread: 0, diskwrite: 0, cpu: 0,
    };
    if (vm.conf.template) e.template = 1;
    if (vm.conf.tags) e.tags = vm.conf.tags;
    if (vm.conf.lock) e.lock = vm.conf.lock;
    if (running(vm)) e.pid = vm.pid;
    return e;
}

function diskBytes(vm) {
    for (const [k, v] of Object.entries(vm.conf)) {
        if (!DISK_KEY.test(k) || /media=cdrom/.test(v)) continue;
        const m = /size=(\d+)G/.exec(v);
        if (m) return Number(m[1]) * 1073741824;
    }
    return 0;
}

function makeHandlers(st, opts) {
    const user = (req) => req.pveUser;
    const task = (req, node, type, vmid, work) => st.startTask(node, type, vmid, user(req), work);

    async function underLock(vm, shared, fn) {
        await st.lockVm(vm.vmid, shared);
        try { return await fn(); } finally { st.unlockVm(vm.vmid, shared); }
    }

    const h = {};

    h.qemuList = (req, p) => {
        st.checkNode(req.params.node);
        return [...st.vms.values()].filter((v) => v.node === req.params.node).map(listEntry);
    };

    h.qemuCreate = (req, p) => {
        const node = req.params.node;
        st.checkNode(node);
        if (st.vms.has(p.vmid))
            throw new PveError(500, `unable to create VM ${p.vmid} - VM ${p.vmid} already exists on node '${st.vms.get(p.vmid).node}'`);
        const vm = { vmid: p.vmid, node, conf: { lock: 'create' }, status: 'stopped', snapshots: [] };
        st.vms.set(p.vmid, vm);
        return task(req, node, 'qmcreate', p.vmid, () => underLock(vm, false, async () => {
            try {
                await sleep(opts.taskMs);
                await applyConfig(st, vm, p);
                if (!vm.conf.smbios1) vm.conf.smbios1 = `uuid=${crypto.randomUUID()}`;
                vm.conf.vmgenid = crypto.randomUUID();
                delete vm.conf.lock;
            } catch (e) {
                st.vms.delete(p.vmid);
                throw e;
            }
            if (p.start) startVm(vm);
        }));
    };

    h.configGet = (req, p) => {
        const vm = st.vm(req.params.node, req.params.vmid);
        let conf = vm.conf;
        if (p.snapshot) {
            const s = vm.snapshots.find((x) => x.name === p.snapshot);
            if (!s) throw new PveError(500, `snapshot '${p.snapshot}' does not exist`);
            conf = s.conf;
        }
        return { ...conf, digest: st.digest(conf) };
    };

    async function setConfig(req, vm, p) {
        if (p.digest && p.digest !== st.digest(vm.conf))
            throw new PveError(500, 'detected modified configuration - file changed by other user? Try again.');
        if (!p.skiplock) st.checkConfigLock(vm);
        await applyConfig(st, vm, p);
    }

    h.configPost = (req, p) => {
        const vm = st.vm(req.params.node, req.params.vmid);
        return task(req, vm.node, 'qmconfig', vm.vmid, () => underLock(vm, false, async () => {
            await sleep(opts.taskMs / 2);
            await setConfig(req, vm, p);
        }));
    };

    h.configPut = async (req, p) => {
        const vm = st.vm(req.params.node, req.params.vmid);
        await underLock(vm, false, () => setConfig(req, vm, p));
        return null;
    };

    h.statusCurrent = (req) => {
        const vm = st.vm(req.params.node, req.params.vmid);
        const e = listEntry(vm);
        const out = { ...e, qmpstatus: vm.status, ha: { managed: 0 }, agent: /^(1|enabled=1)/.test(vm.conf.agent || '') };
        delete out.netin; delete out.netout;
        return out;
    };

    function startVm(vm) {
        vm.status = 'running';
        vm.startedAt = Date.now();
        vm.pid = ++st.pidSeq;
    }

    function power(type, fn) {
        return (req, p) => {
            const vm = st.vm(req.params.node, req.params.vmid);
            return task(req, vm.node, type, vm.vmid, () => underLock(vm, false, async () => {
                if (!p.skiplock) st.checkConfigLock(vm);
                await fn(vm, p);
            }));
        };
    }

    h.start = power('qmstart', async (vm) => {
        if (vm.conf.template) throw new PveError(500, 'you can\'t start a vm if it\'s a template');
        if (running(vm)) throw new PveError(500, `VM ${vm.vmid} already running`);
        await sleep(opts.taskMs);
        startVm(vm);
    });
    h.stop = power('qmstop', async (vm) => {
        await sleep(opts.taskMs / 2);
        vm.status = 'stopped';
    });
    h.shutdown = power('qmshutdown', async (vm, p) => {
        if (!running(vm)) throw new PveError(500, `VM ${vm.vmid} not running`);
        const ignores = /(^|;)sim-ignore-acpi(;|$)/.test(vm.conf.tags || '');
        const timeoutMs = (p.timeout !== undefined ? p.timeout : 180) * 1000;
        if (!ignores) { await sleep(Math.min(opts.taskMs, timeoutMs)); vm.status = 'stopped'; return; }
        await sleep(timeoutMs);
        if (!p.forceStop) throw new PveError(500, 'VM quit/powerdown failed - got timeout');
        vm.status = 'stopped';
    });
    h.reboot = power('qmreboot', async (vm) => {
        if (!running(vm)) throw new PveError(500, `VM ${vm.vmid} not running`);
        await sleep(opts.taskMs);
        startVm(vm);
    });

    h.clone = (req, p) => {
        const src = st.vm(req.params.node, req.params.vmid);
        const target = p.target || src.node;
        st.checkNode(target);
        if (st.vms.has(p.newid))
            throw new PveError(500, `unable to create VM ${p.newid}: config file already exists`);
        const full = p.full !== undefined ? p.full : (src.conf.template ? 0 : 1);
        if (!full && !src.conf.template)
            throw new PveError(500, 'parameter \'full\' must be set to 1 when cloning a VM that is not a template');
        if (!full && p.storage)
            throw new PveError(400, 'Parameter verification failed.', { storage: 'option is only allowed for full clones' });
        const vm = { vmid: p.newid, node: target, conf: { lock: 'clone' }, status: 'stopped', snapshots: [] };
        st.vms.set(p.newid, vm);
        const shared = !running(src);
        return task(req, src.node, 'qmclone', src.vmid, async () => {
            await st.lockVm(vm.vmid, false);
            try {
                await st.lockVm(src.vmid, shared);
                try {
                    let base = src.conf;
                    if (p.snapname) {
                        const s = src.snapshots.find((x) => x.name === p.snapname);
                        if (!s) throw new PveError(500, `snapshot '${p.snapname}' does not exist`);
                        base = s.conf;
                    }
                    const conf = {};
                    let n = 0;
                    for (const [k, v] of Object.entries(base)) {
                        if (['template', 'lock', 'vmgenid', 'smbios1', 'parent'].includes(k)) continue;
                        if (/media=cdrom/.test(v)) {
                            conf[k] = v.replace(/vm-\d+-cloudinit/, `vm-${vm.vmid}-cloudinit`);
                        } else if (DISK_KEY.test(k)) {
                            const [vol, ...rest] = v.split(',');
                            const store = p.storage || vol.split(':')[0];
                            const name = full
                                ? await st.allocDisk(store, `vm-${vm.vmid}-disk-${n++}`)
                                : `${vol}/vm-${vm.vmid}-disk-${n++}`;
                            conf[k] = [name, ...rest].join(',');
                            if (full) await sleep(opts.cloneMs);
                        } else if (/^net\d+$/.test(k)) {
                            conf[k] = v.replace(/^(\w+)=[0-9A-F:]+/, (_, m) => `${m}=${mac(vm.vmid, k)}`);
                        } else conf[k] = v;
                    }
                    await sleep(opts.taskMs);
                    conf.name = p.name || `Copy-of-VM-${base.name || src.vmid}`;
                    if (p.description !== undefined) conf.description = p.description;
                    conf.smbios1 = `uuid=${crypto.randomUUID()}`;
                    conf.vmgenid = crypto.randomUUID();
                    vm.conf = conf;
                } finally { st.unlockVm(src.vmid, shared); }
            } catch (e) {
                st.vms.delete(vm.vmid);
                throw e;
            } finally { st.unlockVm(vm.vmid, false); }
        });
    };

    h.resize = (req, p) => {
        const vm = st.vm(req.params.node, req.params.vmid);
        return task(req, vm.node, 'resize', vm.vmid, () => underLock(vm, false, async () => {
            if (!p.skiplock) st.checkConfigLock(vm);
            const cur = vm.conf[p.disk];
            if (!cur || !DISK_KEY.test(p.disk)) throw new PveError(500, `disk '${p.disk}' does not exist`);
            const m = /size=(\d+)G/.exec(cur);
            const have = m ? Number(m[1]) : 0;
            const sm = /^(\+)?(\d+)G?$/.exec(p.size);
            if (!sm) throw new PveError(500, `unable to parse size '${p.size}'`);
            const want = sm[1] ? have + Number(sm[2]) : Number(sm[2]);
            if (want < have) throw new PveError(500, 'shrinking disks is not supported');
            await sleep(opts.taskMs / 2);
            vm.conf[p.disk] = cur.replace(/size=\d+G/, `size=${want}G`);
        }));
    };

    h.snapList = (req) => {
        const vm = st.vm(req.params.node, req.params.vmid);
        const list = vm.snapshots.map((s) => ({ name: s.name, description: s.description, snaptime: s.snaptime, vmstate: s.vmstate, ...(s.parent ? { parent: s.parent } : {}) }));
        const cur = { name: 'current', description: 'You are here!', running: running(vm) ? 1 : 0 };
        if (vm.conf.parent) cur.parent = vm.conf.parent;
        return [...list, cur];
    };

    h.snapCreate = (req, p) => {
        const vm = st.vm(req.params.node, req.params.vmid);
        return task(req, vm.node, 'qmsnapshot', vm.vmid, () => underLock(vm, false, async () => {
            st.checkConfigLock(vm);
            if (vm.conf.template) throw new PveError(500, 'snapshot feature is not available');
            if (vm.snapshots.some((s) => s.name === p.snapname) || p.snapname === 'current')
                throw new PveError(500, `snapshot name '${p.snapname}' already used`);
            vm.conf.lock = 'snapshot';
            await sleep(opts.taskMs);
            delete vm.conf.lock;
            const conf = { ...vm.conf };
            delete conf.parent;
            vm.snapshots.push({ name: p.snapname, description: p.description || '', snaptime: Math.floor(Date.now() / 1000),
                                vmstate: p.vmstate && running(vm) ? 1 : 0, parent: vm.conf.parent, conf });
            vm.conf.parent = p.snapname;
        }));
    };

    function findSnap(vm, name) {
        const s = vm.snapshots.find((x) => x.name === name);
        if (!s) throw new PveError(500, `snapshot '${name}' does not exist`);
        return s;
    }

    h.snapDelete = (req, p) => {
        const vm = st.vm(req.params.node, req.params.vmid);
        findSnap(vm, req.params.snapname);
        return task(req, vm.node, 'qmdelsnapshot', vm.vmid, () => underLock(vm, false, async () => {
            const s = findSnap(vm, req.params.snapname);
            await sleep(opts.taskMs / 2);
            vm.snapshots = vm.snapshots.filter((x) => x !== s);
            for (const o of vm.snapshots) if (o.parent === s.name) o.parent = s.parent;
            if (vm.conf.parent === s.name) {
                if (s.parent) vm.conf.parent = s.parent; else delete vm.conf.parent;
            }
        }));
    };

    h.rollback = (req, p) => {
        const vm = st.vm(req.params.node, req.params.vmid);
        findSnap(vm, req.params.snapname);
        return task(req, vm.node, 'qmrollback', vm.vmid, () => underLock(vm, false, async () => {
            st.checkConfigLock(vm);
            const s = findSnap(vm, req.params.snapname);
            await sleep(opts.taskMs);
            vm.conf = { ...s.conf, parent: s.name };
            vm.status = 'stopped';
            if (s.vmstate || p.start) startVm(vm);
        }));
    };

    h.destroy = (req, p) => {
        const vm = st.vm(req.params.node, req.params.vmid);
        if (running(vm)) throw new PveError(500, `VM ${vm.vmid} is running - destroy failed`);
        return task(req, vm.node, 'qmdestroy', vm.vmid, () => underLock(vm, false, async () => {
            if (!p.skiplock) st.checkConfigLock(vm);
            if (running(vm)) throw new PveError(500, `VM ${vm.vmid} is running - destroy failed`);
            await sleep(opts.taskMs / 2);
            st.vms.delete(vm.vmid);
        }));
    };

    h.template = (req, p) => {
        const vm = st.vm(req.params.node, req.params.vmid);
        return task(req, vm.node, 'qmtemplate', vm.vmid, () => underLock(vm, false, async () => {
            if (running(vm)) throw new PveError(500, 'you can\'t convert a VM to template if VM is running');
            await sleep(opts.taskMs / 2);
            for (const [k, v] of Object.entries(vm.conf))
                if (DISK_KEY.test(k)) vm.conf[k] = v.replace(/vm-(\d+)-disk/, 'base-$1-disk');
            vm.conf.template = 1;
        }));
    };

    h.agentIfaces = (req) => {
        const vm = st.vm(req.params.node, req.params.vmid);
        if (!/^(1|enabled=1)/.test(vm.conf.agent || '')) throw new PveError(500, 'No QEMU guest agent configured');
        if (!running(vm)) throw new PveError(500, `VM ${vm.vmid} is not running`);
        if (Date.now() - vm.startedAt < opts.agentDelayMs) throw new PveError(500, 'QEMU guest agent is not running');
        const hw = /=([0-9A-F:]{17})/.exec(vm.conf.net0 || '');
        return { result: [
            { name: 'lo', 'hardware-address': '00:00:00:00:00:00', 'ip-addresses': [{ 'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4', prefix: 8 }] },
            { name: 'eth0', 'hardware-address': (hw ? hw[1] : '00:00:00:00:00:01').toLowerCase(),
              'ip-addresses': [{ 'ip-address': ips(vm), 'ip-address-type': 'ipv4', prefix: 24 },
                               { 'ip-address': `fe80::be24:11ff:fe00:${vm.vmid.toString(16)}`, 'ip-address-type': 'ipv6', prefix: 64 }] },
        ] };
    };

    return h;
}

module.exports = { makeHandlers, memMiB, listEntry };
