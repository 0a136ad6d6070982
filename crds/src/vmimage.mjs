// vmimage.mjs - VMImage: where a VM's boot disk comes from.
import {
    P, bool, docStop, duration, enm, int32, int64, mapOf, obj, quantity, req,
    str, strList, strMap, time,
} from './dsl.mjs';
import { conditions } from './k8s.mjs';
import { localRef } from './common.mjs';

const imageFormats = ['qcow2', 'raw', 'vmdk', 'vhd', 'vhdx', 'iso', 'ova',
                      'ovf'];
const checksumType = () => enm('Checksum algorithm.',
                               ['md5', 'sha1', 'sha256', 'sha512'],
                               { default: 'sha256' });
const secretKey = (description, def) => str(description, { default: def });

const source = obj('Where the image comes from; set the block for your ' +
                   'provider.', {
    vsphere: obj('A vSphere template, content library item or OVA/OVF URL.', {
        templateName: str('Name of a VM template.', { maxLength: 255 }),
        contentLibrary: obj('An item of a content library.', {
            library: req(str('Library name.', { maxLength: 255 })),
            item: req(str('Item name.', { maxLength: 255 })),
            version: str('Item version; the latest when omitted.'),
        }),
        ovaURL: str('URL of an OVA or OVF to deploy.',
                    { pattern: String.raw`^https?://.*\.(ova|ovf)$` }),
        checksum: str('Expected checksum of the download.'),
        checksumType: checksumType(),
        providerRef: localRef('Restrict the source to this Provider.'),
    }),
    libvirt: obj('A libvirt volume or file, or a URL to download into a ' +
                 'storage pool.', {
        path: str('Path of the image file, or volume name in storagePool.'),
        url: str('URL to download the image from.',
                 { pattern: '^(https?|ftp)://.*' }),
        format: enm('Image format.', imageFormats, { default: 'qcow2' }),
        checksum: str('Expected checksum of the download.'),
        checksumType: checksumType(),
        storagePool: str('Storage pool holding or receiving the image.',
                         { maxLength: 255 }),
    }),
    http: obj('An image downloaded over HTTP(S).', {
        url: req(str('URL of the image.', { pattern: '^https?://.*' })),
        headers: strMap('Extra request headers.', { maxProperties: 20 }),
        checksum: str('Expected checksum of the download.'),
        checksumType: checksumType(),
        authentication: obj('Credentials for the download.', {
            basicAuth: obj('HTTP basic authentication from a Secret.', {
                secretRef: req(localRef('Secret with the credentials.')),
                usernameKey: secretKey('Key holding the user name.',
                                       'username'),
                passwordKey: secretKey('Key holding the password.',
                                       'password'),
            }),
            bearer: obj('A bearer token from a Secret.', {
                secretRef: req(localRef('Secret with the token.')),
                tokenKey: secretKey('Key holding the token.', 'token'),
            }),
            clientCert: obj('A TLS client certificate from a Secret.', {
                secretRef: req(localRef('Secret with the certificate.')),
                certKey: secretKey('Key holding the certificate.', 'tls.crt'),
                keyKey: secretKey('Key holding the private key.', 'tls.key'),
            }),
        }),
        timeout: duration('Download timeout.', { default: '30m' }),
    }),
    registry: obj('A disk image stored in an OCI registry.', {
        image: req(str('Image reference with a tag.',
                       { pattern: '^[a-zA-Z0-9._/-]+:[a-zA-Z0-9._-]+$' })),
        pullSecretRef: localRef('Secret with registry credentials.'),
        format: enm('Image format.', imageFormats, { default: 'qcow2' }),
    }),
    dataVolume: obj('A KubeVirt DataVolume.', {
        name: req(str('DataVolume name.',
                      { maxLength: 253, pattern: P.dnsLabel })),
        namespace: str('DataVolume namespace.',
                       { maxLength: 63, pattern: P.dnsLabel }),
    }),
    proxmox: obj('A Proxmox VE template.', {
        templateID: int64('VMID of the template.',
                          { minimum: 100, maximum: 999999999 }),
        templateName: str('Name of the template.', { maxLength: 255 }),
        storage: str('Storage for the cloned disks.', { maxLength: 255 }),
        node: str('Node holding the template.', { maxLength: 255 }),
        format: enm('Disk format.', ['raw', 'qcow2', 'vmdk'],
                    { default: 'qcow2' }),
        fullClone: bool('Make full clones rather than linked ones.',
                        { default: true }),
    }),
});

export default {
    kind: 'VMImage',
    plural: 'vmimages',
    shortNames: ['vmimg'],
    doc: 'vmimage',
    description: 'VMImage is a bootable disk image or template, and how to ' +
        'make it available on a provider.',
    columns: [
        { name: 'Ready', type: 'boolean', jsonPath: '.status.ready' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Size', type: 'string', jsonPath: '.status.size' },
        { name: 'Providers', type: 'string',
          jsonPath: '.status.availableOn[*]' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
    spec: obj('Desired image.', {
        source: req(source),
        prepare: obj('How the image is made available on a provider that ' +
                     'lacks it.', {
            onMissing: enm('Import the image, fail, or wait for someone ' +
                           'else to provide it.', ['Import', 'Fail', 'Wait'],
                           { default: 'Import' }),
            validateChecksum: bool('Verify the checksum after download.',
                                   { default: true }),
            timeout: duration('Preparation timeout.', { default: '30m' }),
            retries: int32('Retries after a failure.',
                           { minimum: 0, maximum: 10, default: 3 }),
            force: bool('Prepare again even if the image is present.'),
            storage: obj('Where prepared images are stored.', {
                vsphere: obj('vSphere storage.', {
                    datastore: str('Datastore.', { maxLength: 255 }),
                    folder: str('Folder.', { maxLength: 255 }),
                    thinProvisioned: bool('Thin-provision the disk.'),
                    diskType: enm('Disk provisioning type.',
                                  ['thin', 'thick', 'eagerzeroedthick']),
                }),
                libvirt: obj('libvirt storage.', {
                    storagePool: str('Storage pool.', { maxLength: 255 }),
                    allocationPolicy: enm('Allocation policy.',
                                          ['eager', 'lazy']),
                    preallocation: enm('qcow2 preallocation mode.',
                                       ['off', 'metadata', 'falloc', 'full']),
                }),
                preferredFormat: enm('Preferred stored format.', imageFormats),
                compression: bool('Compress the stored image.',
                                  { default: false }),
            }),
            optimization: obj('Image optimizations.', {
                enableCompression: bool('Compress.', { default: false }),
                removeUnusedSpace: bool('Sparsify.', { default: false }),
                convertFormat: enm('Convert to this format.', imageFormats),
                enableDeltaSync: bool('Transfer only changed blocks.',
                                      { default: false }),
            }),
        }),
        metadata: obj('Descriptive information.', {
            displayName: str('Display name.', { maxLength: 255 }),
            description: str('Description.', { maxLength: 1024 }),
            version: str('Image version.', { maxLength: 100 }),
            architecture: enm('CPU architecture.',
                              ['amd64', 'arm64', 'x86_64', 'aarch64'],
                              { default: 'amd64' }),
            tags: strMap('Tags.', { maxProperties: 50 }),
            annotations: strMap('Annotations.', { maxProperties: 50 }),
        }),
        distribution: obj('Operating system in the image.', {
            name: enm('Distribution.',
                      ['ubuntu', 'centos', 'rhel', 'fedora', 'debian', 'suse',
                       'windows', 'freebsd', 'coreos', 'other']),
            version: str('Distribution version, e.g. "22.04".',
                         { maxLength: 100 }),
            variant: str('Variant, e.g. server.', { maxLength: 100 }),
            family: enm('OS family.', ['linux', 'windows', 'bsd', 'other']),
            kernel: obj('Kernel.', {
                version: str('Kernel version.'),
                type: enm('Kernel type.', ['linux', 'windows', 'freebsd',
                                           'other']),
            }),
        }),
    }),
    status: obj('Observed state of the image.', {
        ready: bool('Whether the image is usable.'),
        phase: enm('Preparation phase.',
                   ['Pending', 'Downloading', 'Importing', 'Converting',
                    'Optimizing', 'Ready', 'Failed']),
        message: str('Human-readable detail about the phase.'),
        availableOn: strList('Providers on which the image is available.'),
        conditions: conditions(),
        observedGeneration: int64('The .metadata.generation last acted on.'),
        lastPrepareTime: time('When the image was last prepared.'),
        prepareTaskRef: str('Provider task of a running preparation.'),
        importProgress: obj('Progress of a running import.', {
            totalBytes: int64('Bytes to transfer.'),
            transferredBytes: int64('Bytes transferred.'),
            percentage: int32('Percent done.', { minimum: 0, maximum: 100 }),
            transferRate: int64('Bytes per second.'),
            eta: duration('Estimated time left.'),
            startTime: time('When the import started.'),
        }),
        size: quantity('Image size.'),
        checksum: str('Checksum of the image.'),
        format: enm('Image format.', imageFormats),
        providerStatus: docStop(mapOf('State of the image per provider.', obj(
            'State of the image on one provider.', {
                available: req(bool('Whether the image is there.')),
                id: str('Provider-specific identifier.'),
                path: str('Location on the provider.'),
                size: quantity('Size there.'),
                lastUpdated: time('When this entry was updated.'),
                message: str('Details.'),
            }), { $docType: 'map of object' })),
    }),
};
