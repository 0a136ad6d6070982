// virtualmachine.mjs - VirtualMachine: one VM on one provider.
import {
    arr, bool, duration, enm, int32, int64, nyh, obj, req, str, strList,
    strMap, time,
} from './dsl.mjs';
import { conditions } from './k8s.mjs';
import {
    disks, localRef, metaData, networks, objectRef, userData, vmResources,
} from './common.mjs';

const powerStates = ['On', 'Off', 'OffGraceful'];

const lifecycleHandler = (description) => obj(description, {
    exec: obj('Run a command in the guest.', {
        command: req(strList('Command line.', { minItems: 1 })),
    }),
    httpGet: obj('Send an HTTP GET request to the guest.', {
        path: str('HTTP path.'),
        port: req(int32('Port.', { minimum: 1, maximum: 65535 })),
        host: str('Host name; defaults to the VM\'s IP address.'),
        scheme: enm('Scheme.', ['HTTP', 'HTTPS'], { default: 'HTTP' }),
    }),
    snapshot: obj('Take a snapshot.', {
        name: req(str('Snapshot name hint.')),
        includeMemory: bool('Include the memory state.'),
        description: str('Snapshot description.'),
    }),
});

// Also the template of a VMSet.
export const vmSpec = obj('Desired state of the VM.', {
    providerRef: req(objectRef('The Provider that runs this VM.')),
    classRef: req(objectRef('The VMClass giving CPU, memory and firmware.')),
    imageRef: objectRef('The VMImage to boot from. Set imageRef or ' +
                        'importedDisk, not both.'),
    importedDisk: obj('A disk already on the provider (imported by a ' +
                      'migration, clone or by hand) to boot from instead of ' +
                      'an image. Set imageRef or importedDisk, not both.', {
        diskID: req(str('Provider-specific disk identifier (for libvirt, ' +
                        'the volume name).', { minLength: 1, maxLength: 253 })),
        path: str('Path of the disk on the provider; derived from diskID ' +
                  'when omitted.'),
        format: enm('Disk format.', ['qcow2', 'vmdk', 'raw', 'vdi', 'vhdx'],
                    { default: 'qcow2' }),
        source: enm('Where the disk came from.',
                    ['migration', 'clone', 'import', 'snapshot', 'manual']),
        migrationRef: localRef('The VMMigration that imported the disk.'),
        sizeGiB: int32('Expected size in GiB.', { minimum: 1 }),
    }),
    networks: networks('NICs, in order.'),
    disks: disks('Disks in addition to the boot disk.'),
    userData: userData('Guest configuration data (cloud-init or Ignition).'),
    metaData: metaData('cloud-init meta-data.'),
    placement: obj('Where the VM should run (provider-specific names).', {
        cluster: str('Cluster.'),
        host: str('Host.'),
        datastore: str('Datastore; wins over storagePod when both are set.'),
        storagePod: str('vSphere datastore cluster; the datastore with the ' +
                        'most free space in it is used.'),
        folder: str('VM folder.'),
        resourcePool: str('Resource pool.'),
    }),
    powerState: enm('Desired power state. OffGraceful asks the guest to shut ' +
                    'down. Quote the value in YAML ("On", "Off"): YAML 1.1 ' +
                    'readers take a bare On or Off for a boolean.',
                    powerStates),
    tags: strList('Tags applied to the VM on the provider.', { maxItems: 50 }),
    resources: vmResources('Overrides of the VMClass\'s CPU and memory.'),
    placementRef: nyh(localRef('A VMPlacementPolicy with placement rules.')),
    snapshot: obj('Snapshot operations.', {
        revertToRef: localRef('A VMSnapshot to revert the VM to (once per ' +
                              'snapshot; status.provider.lastRevert says which).'),
    }),
    lifecycle: obj('Hooks around start and stop.', {
        preStop: nyh(lifecycleHandler('Action before the VM is stopped.')),
        postStart: nyh(lifecycleHandler('Action after the VM has started.')),
        gracefulShutdownTimeout: duration(
            'How long a graceful shutdown may take before the VM is ' +
            'powered off.', { default: '60s' }),
    }),
}, {
    // At most one boot source.  Neither is valid: adopted and cloned VMs
    // (label virtrigaud.io/adopted) carry only the provider's VM id.
    not: { required: ['imageRef', 'importedDisk'] },
});

export default {
    kind: 'VirtualMachine',
    plural: 'virtualmachines',
    shortNames: ['vm'],
    doc: 'virtualmachine',
    description: 'VirtualMachine is a virtual machine on one provider, built ' +
        'from a VMClass and a VMImage (or an imported disk).',
    columns: [
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Provider', type: 'string', jsonPath: '.spec.providerRef.name' },
        { name: 'Class', type: 'string', jsonPath: '.spec.classRef.name' },
        { name: 'Image', type: 'string', jsonPath: '.spec.imageRef.name' },
        { name: 'IPs', type: 'string', jsonPath: '.status.ips[*]' },
        { name: 'Power', type: 'string', jsonPath: '.status.powerState',
          priority: 1 },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
    spec: vmSpec,
    status: obj('Observed state of the VM.', {
        id: str('Provider-specific identifier of the VM.'),
        powerState: enm('Current power state.', powerStates),
        ips: strList('IP addresses reported by the guest or the provider.'),
        consoleURL: str('URL of the VM console.'),
        conditions: conditions(),
        observedGeneration: int64('The .metadata.generation last acted on.'),
        lastTaskRef: str('Provider task of the last asynchronous operation.'),
        provider: strMap('Provider-specific details.', {
            'x-kubernetes-preserve-unknown-fields': true,
        }),
        reconfigureTaskRef: str('Provider task of a running reconfiguration.'),
        lastReconfigureTime: time('When the VM was last reconfigured.'),
        currentResources: vmResources('CPU and memory the VM has now.', false),
        snapshots: arr('Snapshots of the VM on the provider.', obj(
            'A snapshot.', {
                id: req(str('Provider-specific snapshot identifier.')),
                name: req(str('Snapshot name.')),
                creationTime: req(time('When the snapshot was taken.')),
                description: str('Snapshot description.'),
                sizeBytes: int64('Size in bytes.'),
                hasMemory: bool('Whether the memory state is included.'),
            })),
        phase: enm('Lifecycle phase.', ['Pending', 'Provisioning', 'Running',
                                        'Stopped', 'Reconfiguring',
                                        'Deleting', 'Failed']),
        message: str('Human-readable detail about the phase.'),
    }),
};
