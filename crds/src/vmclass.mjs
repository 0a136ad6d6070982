// vmclass.mjs - VMClass: a hardware profile (CPU, memory, firmware).
import {
    bool, enm, int32, int64, mapOf, obj, quantity, req, str, strList, strMap,
    time,
} from './dsl.mjs';
import { conditions } from './k8s.mjs';

const vendor = ['standard', 'hardware', 'external'];

export default {
    kind: 'VMClass',
    plural: 'vmclasses',
    shortNames: ['vmclass'],
    doc: 'vmclass',
    description: 'VMClass is a reusable hardware profile for VirtualMachines: ' +
        'CPU, memory, firmware and disk, performance and security settings.',
    columns: [
        { name: 'CPU', type: 'integer', jsonPath: '.spec.cpu' },
        { name: 'Memory', type: 'string', jsonPath: '.spec.memory' },
        { name: 'Firmware', type: 'string', jsonPath: '.spec.firmware' },
        { name: 'Used By', type: 'integer', jsonPath: '.status.usedByVMs' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
    spec: obj('Desired hardware profile.', {
        cpu: req(int32('Number of virtual CPUs.', { minimum: 1, maximum: 128 })),
        memory: req(quantity('Memory, e.g. "4Gi" or "2048Mi".')),
        firmware: enm('Firmware. EFI is a synonym of UEFI.',
                      ['BIOS', 'UEFI', 'EFI'], { default: 'BIOS' }),
        diskDefaults: obj('Defaults for the boot disk.', {
            type: enm('Provisioning type.',
                      ['thin', 'thick', 'eagerzeroedthick', 'ssd', 'hdd',
                       'nvme'], { default: 'thin' }),
            size: quantity('Size of the boot disk.', { default: '40Gi' }),
            iops: int32('IOPS limit.', { minimum: 100, maximum: 100000 }),
            storageClass: str('Storage class, pool or datastore hint.',
                              { maxLength: 253 }),
        }),
        guestToolsPolicy: enm('What to do about guest tools (VMware Tools, ' +
                              'QEMU guest agent).',
                              ['install', 'skip', 'upgrade', 'uninstall'],
                              { default: 'install' }),
        extraConfig: strMap('Provider-specific key/value settings (e.g. ' +
                            'vSphere advanced settings).',
                            { maxProperties: 50 }),
        resourceLimits: obj('CPU and memory limits and reservations.', {
            cpuLimit: int32('CPU limit in MHz.',
                            { minimum: 100, maximum: 100000 }),
            cpuReservation: int32('CPU reservation in MHz.',
                                  { minimum: 0, maximum: 100000 }),
            memoryLimit: quantity('Memory limit.'),
            memoryReservation: quantity('Memory reservation.'),
            cpuShares: int32('Relative CPU shares.',
                             { minimum: 1, maximum: 1000000 }),
        }),
        performanceProfile: obj('Performance settings.', {
            latencySensitivity: enm('Latency sensitivity.',
                                    ['low', 'normal', 'high'],
                                    { default: 'normal' }),
            cpuHotAddEnabled: bool('Allow adding CPUs while the VM runs.',
                                   { default: false }),
            memoryHotAddEnabled: bool('Allow adding memory while the VM ' +
                                      'runs.', { default: false }),
            virtualizationBasedSecurity: bool('Enable virtualization-based ' +
                                              'security (Windows).',
                                              { default: false }),
            nestedVirtualization: bool('Expose hardware virtualization to ' +
                                       'the guest.', { default: false }),
            hyperThreadingPolicy: enm('Use of host hyper-threads.',
                                      ['auto', 'prefer', 'avoid', 'require'],
                                      { default: 'auto' }),
        }),
        securityProfile: obj('Security settings.', {
            secureBoot: bool('Enable UEFI secure boot.', { default: false }),
            tpmEnabled: bool('Add a virtual TPM.', { default: false }),
            tpmVersion: enm('TPM version.', ['1.2', '2.0']),
            vtdEnabled: bool('Enable Intel VT-d / AMD-Vi.', { default: false }),
            encryptionPolicy: obj('VM encryption.', {
                enabled: bool('Encrypt the VM.', { default: false }),
                keyProvider: enm('Key provider.', vendor),
                requireEncryption: bool('Fail when encryption is not ' +
                                        'available.', { default: false }),
            }),
        }),
    }),
    status: obj('Observed state of the class.', {
        conditions: conditions(),
        observedGeneration: int64('The .metadata.generation last acted on.'),
        usedByVMs: int32('Number of VirtualMachines using the class.'),
        supportedProviders: strList('Providers that support the class.'),
        validationResults: mapOf('Validation result per provider.', obj(
            'Result of validating the class against one provider.', {
                valid: req(bool('Whether the class is valid there.')),
                message: str('Details.'),
                warnings: strList('Warnings.'),
                lastValidated: time('When the class was validated.'),
            }), { $docType: 'map of object' }),
    }),
};
