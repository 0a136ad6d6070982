'use strict';
// state.js - the Proxmox VE API simulator's state: nodes, storages, VMs
// with their configs and snapshots, tasks (UPIDs) that take time, and the
// two kinds of locks PVE has: the per-VM config file lock
// (/var/lock/qemu-server/lock-VMID.conf, taken by every change, shared by
// clones of a stopped source) and the per-storage allocation lock
// (/var/lock/pve-manager/pve-storage-ID).  Waiting too long for either
// fails with "can't lock file '...' - got timeout", as PVE does.
//
// A SIMULATOR for tests, not Proxmox VE.

const crypto = require('node:crypto');

class PveError extends Error {
    constructor(status, message, errors) {
        super(message);
        this.status = status;
        this.errors = errors;
    }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Locks {
    constructor() { this.held = new Map(); }
    tryTake(key, shared) {
        const h = this.held.get(key) || { excl: false, shared: 0 };
        if (h.excl || (!shared && h.shared)) return false;
        if (shared) h.shared++; else h.excl = true;
        this.held.set(key, h);
        return true;
    }
    release(key, shared) {
        const h = this.held.get(key);
        if (!h) return;
        if (shared) h.shared--; else h.excl = false;
        if (!h.excl && h.shared <= 0) this.held.delete(key);
    }
    async take(key, path, shared, waitMs) {
        const until = Date.now() + waitMs;
        while (!this.tryTake(key, shared)) {
            if (Date.now() >= until)
                throw new PveError(500, `can't lock file '${path}' - got timeout`);
            await sleep(20);
        }
    }
}

class State {
    constructor(opts) {
        this.opts = opts;
        this.nodes = opts.nodes;
        this.storages = ['local-lvm', 'local'];
        this.vms = new Map();
        this.tasks = new Map();
        this.locks = new Locks();
        this.pidSeq = 4000;
    }

    vmLockPath(vmid) { return `/var/lock/qemu-server/lock-${vmid}.conf`; }

    async lockVm(vmid, shared) {
        await this.locks.take('vm:' + vmid, this.vmLockPath(vmid), shared, this.opts.lockWaitMs);
    }
    unlockVm(vmid, shared) { this.locks.release('vm:' + vmid, shared); }

    async lockStorage(id) {
        await this.locks.take('st:' + id, `/var/lock/pve-manager/pve-storage-${id}`, false, this.opts.lockWaitMs);
    }
    unlockStorage(id) { this.locks.release('st:' + id, false); }

    checkNode(node) {
        if (!this.nodes.includes(node))
            throw new PveError(595, `no such cluster node '${node}'`);
    }

    // The VM `vmid` on `node`, as PVE finds its config file.
    vm(node, vmid) {
        this.checkNode(node);
        const vm = this.vms.get(Number(vmid));
        if (!vm || vm.node !== node)
            throw new PveError(500, `Configuration file 'nodes/${node}/qemu-server/${vmid}.conf' does not exist`);
        return vm;
    }

    checkConfigLock(vm) {
        if (vm.conf.lock)
            throw new PveError(500, `VM is locked (${vm.conf.lock})`);
    }

    digest(conf) {
        return crypto.createHash('sha1').update(JSON.stringify(conf)).digest('hex');
    }

    nextid(from) {
        let id = Math.max(100, from || 100);
        while (this.vms.has(id)) id++;
        return id;
    }

    // Starts a task on `node`: `work` runs asynchronously; the task ends
    // "OK" or with the message of what it threw.  Returns the UPID.
    startTask(node, type, id, user, work) {
        const pid = ++this.pidSeq;
        const start = Math.floor(Date.now() / 1000);
        const hex = (n, w) => n.toString(16).toUpperCase().padStart(w, '0');
        const pstart = Math.floor(process.uptime() * 100) + pid;
        const upid = `UPID:${node}:${hex(pid, 8)}:${hex(pstart, 8)}:${hex(start, 8)}:${type}:${id}:${user}:`;
        const task = { upid, node, type, id: String(id), user, pid, pstart, starttime: start,
                       status: 'running', exitstatus: undefined };
        this.tasks.set(upid, task);
        Promise.resolve().then(work).then(
            () => { task.exitstatus = 'OK'; },
            (e) => { task.exitstatus = (e && e.message ? e.message : String(e)).replace(/\n$/, ''); },
        ).finally(() => { task.status = 'stopped'; task.endtime = Math.floor(Date.now() / 1000); });
        return upid;
    }

    // Allocates a disk on a storage under that storage's lock.
    async allocDisk(storage, name) {
        if (!this.storages.includes(storage))
            throw new PveError(500, `storage '${storage}' does not exist`);
        await this.lockStorage(storage);
        try { await sleep(this.opts.allocMs); } finally { this.unlockStorage(storage); }
        return `${storage}:${name}`;
    }
}

module.exports = { State, PveError, sleep };
