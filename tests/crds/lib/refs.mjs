// refs.mjs - references between example objects (providerRef, classRef,
// vmRef, credentialSecretRef, ...) and which of them no example defines.

// References from one of our objects to others: [kind, name, namespace].
function references(o) {
    const s = o.spec || {};
    const out = [];
    const ref = (kind, r, local = false) => {
        if (r && r.name)
            out.push([kind, r.name, local ? null : r.namespace || null]);
    };
    const vmRefs = (v) => {
        if (!v)
            return;
        ref('Provider', v.providerRef);
        ref('VMClass', v.classRef);
        ref('VMImage', v.imageRef);
        for (const n of v.networks || [])
            ref('VMNetworkAttachment', n.networkRef);
        ref('VMPlacementPolicy', v.placementRef, true);
        ref('Secret', v.userData?.cloudInit?.secretRef, true);
        ref('Secret', v.metaData?.cloudInit?.secretRef, true);
    };
    switch (o.kind) {
    case 'VirtualMachine':
        vmRefs(s);
        break;
    case 'VMSet':
        vmRefs(s.template && s.template.spec);
        break;
    case 'Provider':
        ref('Secret', s.credentialSecretRef);
        break;
    case 'VMSnapshot':
        ref('VirtualMachine', s.vmRef, true);
        break;
    case 'VMClone':
        ref('VirtualMachine', s.source?.vmRef, true);
        ref('Provider', s.target?.providerRef);
        ref('VMClass', s.target?.classRef, true);
        for (const n of s.target?.networks || [])
            ref('VMNetworkAttachment', n.networkRef);
        break;
    case 'VMMigration':
        ref('VirtualMachine', s.source?.vmRef, true);
        ref('Provider', s.target?.providerRef);
        ref('VMClass', s.target?.classRef, true);
        ref('Secret', s.storage?.s3?.credentialsSecretRef);
        for (const n of s.target?.networks || [])
            ref('VMNetworkAttachment', n.networkRef);
        break;
    case 'VMImage':
        for (const a of Object.values(s.source?.http?.authentication || {}))
            ref('Secret', a && a.secretRef, true);
        break;
    default:
        break;
    }
    return out;
}

const key = (kind, ns, name) => `${kind}/${ns || ''}/${name}`;

export function unresolved(objs, pool) {
    const have = new Set(pool.map((o) => key(o.kind, o.metadata?.namespace,
                                             o.metadata?.name)));
    const out = [];
    for (const o of objs) {
        for (const [kind, name, ns] of references(o)) {
            const want = key(kind, ns || o.metadata?.namespace, name);
            if (!have.has(want))
                out.push(`${o.kind}/${o.metadata?.name} refers to ${kind} ` +
                         `${ns ? ns + '/' : ''}${name}, which no example defines`);
        }
    }
    return out;
}

