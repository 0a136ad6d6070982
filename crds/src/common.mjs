// common.mjs - virtrigaud types shared by several kinds: references,
// NIC and disk specs, cloud-init data.
import {
    P, arr, enm, int32, int64, nyh, obj, req, str,
} from './dsl.mjs';

// ObjectRef: a name and an optional namespace (default: the referrer's).
export const objectRef = (description) => obj(description, {
    name: req(str('Name of the referenced object.',
                  { maxLength: 253, pattern: P.dnsLabel })),
    namespace: str('Namespace of the referenced object; defaults to the ' +
                   'namespace of the referring object.',
                   { maxLength: 63, pattern: P.dnsLabel }),
});

// LocalObjectReference: a name in the same namespace.
export const localRef = (description) => obj(description, {
    name: req(str('Name of the referenced object.',
                  { maxLength: 253, pattern: P.dnsLabel })),
});

const dnsName = (description, maxLength) =>
    str(description, { maxLength, pattern: P.dnsLabel });

const networkRef = obj('One NIC of the VM.', {
    name: req(dnsName('Name of this NIC, unique within the VM.', 63)),
    networkRef: objectRef('The VMNetworkAttachment to connect to. When ' +
                          'omitted, the image\'s or template\'s own NIC is ' +
                          'used.'),
    ipAddress: str('Static IPv4 address.', { pattern: P.ipv4 }),
    prefix: int32('Prefix length of the static address, e.g. 24.',
                  { minimum: 1, maximum: 32 }),
    gateway: str('Default gateway (IPv4).', { pattern: P.ipv4 }),
    dns: str('DNS server addresses, comma-separated.'),
    macAddress: str('Static MAC address.', { pattern: P.mac }),
});

export const networks = (description) =>
    arr(description, networkRef, { maxItems: 10 });

const diskSpec = obj('An additional disk.', {
    name: req(dnsName('Disk name, unique within the VM.', 63)),
    sizeGiB: req(int32('Size in GiB.', { minimum: 1, maximum: 65536 })),
    type: enm('Provisioning type (provider-specific).',
              ['thin', 'thick', 'eagerzeroedthick', 'ssd', 'hdd'],
              { default: 'thin' }),
    expandPolicy: nyh(enm('Whether the disk may be grown while the VM runs.',
                          ['Online', 'Offline'], { default: 'Offline' })),
    storageClass: str('Storage class, pool or datastore hint ' +
                      '(provider-specific).'),
    scsi: obj('SCSI controller for the disk (vSphere only).', {
        controller: int32('SCSI bus number; the first free one when omitted.',
                          { minimum: 0, maximum: 3 }),
        sharedBus: enm('SCSI bus sharing mode.',
                       ['noSharing', 'virtualSharing', 'physicalSharing'],
                       { default: 'noSharing' }),
        controllerType: enm('SCSI controller model.',
                            ['lsilogic', 'buslogic', 'lsilogic-sas', 'pvscsi'],
                            { default: 'pvscsi' }),
    }),
});

export const disks = (description) =>
    arr(description, diskSpec, { maxItems: 20 });

const inlineOrSecret = (description, what) => obj(description, {
    inline: str(`${what}, inline.`),
    secretRef: localRef(`A Secret in the VM's namespace holding the ${what}.`),
});

export const userData = (description) => obj(description, {
    cloudInit: inlineOrSecret('cloud-init user data.', 'cloud-init user data'),
    ignition: nyh(inlineOrSecret('Ignition configuration (CoreOS, RHEL).',
                                 'Ignition configuration')),
});

export const metaData = (description) => obj(description, {
    cloudInit: inlineOrSecret('cloud-init meta-data (YAML).',
                              'cloud-init meta-data'),
});

// resources: CPU and memory; used by VirtualMachine spec and status.
export const vmResources = (description, gpuNyh = true) => obj(description, {
    cpu: int32('Number of virtual CPUs.', { minimum: 1, maximum: 128 }),
    memoryMiB: int64('Memory in MiB.', { minimum: 128, maximum: 1048576 }),
    gpu: (gpuNyh ? nyh : (s) => s)(obj('GPUs to pass through.', {
        count: req(int32('Number of GPUs.', { minimum: 1, maximum: 8 })),
        type: str('GPU model (provider-specific).',
                  { pattern: '^[a-zA-Z0-9_-]+$' }),
        memory: int64('GPU memory in MiB.', { minimum: 512 }),
    })),
});

export const environment = () => enm(
    'Environment the object belongs to.',
    ['dev', 'staging', 'prod', 'test', 'qa', 'uat']);

