// vmclone.mjs - VMClone: make a new VirtualMachine from an existing one.
import {
    P, arr, bool, duration, enm, int32, int64, nyh, obj, req, str, strList,
    strMap, time,
} from './dsl.mjs';
import { conditions } from './k8s.mjs';
import {
    disks, environment, localRef, networks, objectRef, userData,
} from './common.mjs';

const cloneTypes = ['FullClone', 'LinkedClone', 'InstantClone'];

const password = (description) => obj(description, {
    value: str('The password, inline (prefer secretRef).'),
    secretRef: localRef('Secret holding the password.'),
    secretKey: str('Key in the Secret.', { default: 'password' }),
});

const customization = obj('Guest customization of the clone.', {
    hostname: str('Host name.', {
        maxLength: 255, pattern: '^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$',
    }),
    domain: str('DNS domain.', { maxLength: 255 }),
    timeZone: str('Time zone, e.g. Europe/Paris.', { maxLength: 100 }),
    networks: arr('Per-NIC guest network settings.', obj('One NIC.', {
        name: req(str('NIC name.', { maxLength: 255 })),
        ipAddress: str('Static IPv4 address.', { pattern: P.ipv4 }),
        subnetMask: str('Subnet mask, e.g. 255.255.255.0.',
                        { pattern: P.ipv4 }),
        gateway: str('Default gateway.', { pattern: P.ipv4 }),
        dns: strList('DNS servers.', { maxItems: 5 }),
        macAddress: str('MAC address.', { pattern: P.mac }),
        dhcp: bool('Use DHCP.'),
    }), { maxItems: 10 }),
    userData: userData('cloud-init or Ignition data for the clone.'),
    sysprep: obj('Windows sysprep.', {
        enabled: bool('Run sysprep.', { default: false }),
        productKey: str('Windows product key.'),
        organization: str('Organization.', { maxLength: 255 }),
        owner: str('Owner.', { maxLength: 255 }),
        adminPassword: password('Administrator password.'),
        joinDomain: obj('Join an Active Directory domain.', {
            domain: req(str('Domain.', { maxLength: 255 })),
            username: req(str('Account allowed to join.', { maxLength: 255 })),
            password: req(password('Password of that account.')),
            organizationalUnit: str('OU for the computer account.',
                                    { maxLength: 500 }),
        }),
        customCommands: strList('Commands run at first logon.',
                                { maxItems: 20 }),
    }),
    tags: strList('Tags.', { maxItems: 50 }),
    guestCommands: arr('Commands run in the guest.', obj('A command.', {
        command: req(str('Command.', { maxLength: 1000 })),
        arguments: strList('Arguments.', { maxItems: 20 }),
        workingDirectory: str('Working directory.', { maxLength: 500 }),
        runAsUser: str('User to run as.', { maxLength: 255 }),
        timeout: duration('Timeout.', { default: '5m' }),
        stage: enm('When to run it.', ['pre-customization',
                                        'post-customization', 'first-boot'],
                   { default: 'post-customization' }),
    }), { maxItems: 20 }),
    certificates: arr('Certificates to install.', obj('A certificate.', {
        name: req(str('Name.', { maxLength: 255 })),
        data: str('PEM data, inline.'),
        secretRef: localRef('Secret holding the certificate.'),
        secretKey: str('Key in the Secret.', { default: 'tls.crt' }),
        store: enm('Certificate store.', ['root', 'ca', 'my', 'trust'],
                   { default: 'root' }),
    }), { maxItems: 10 }),
});

export default {
    kind: 'VMClone',
    plural: 'vmclones',
    shortNames: ['vmclone'],
    doc: 'vmclone',
    description: 'VMClone copies a VirtualMachine (full or linked clone) into ' +
        'a new VirtualMachine, optionally customizing the guest.',
    columns: [
        { name: 'Source', type: 'string', jsonPath: '.spec.source.vmRef.name' },
        { name: 'Target', type: 'string', jsonPath: '.spec.target.name' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Clone Type', type: 'string',
          jsonPath: '.status.actualCloneType' },
        { name: 'Progress', type: 'integer',
          jsonPath: '.status.progress.overallPercentage' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
    spec: obj('Desired clone.', {
        source: req(obj('What to clone; set one field.', {
            vmRef: localRef('A VirtualMachine.'),
            snapshotRef: localRef('A VMSnapshot (clone of its VM at that snapshot).'),
            templateRef: nyh(objectRef('A template.')),
            imageRef: objectRef('A VMImage (a new VM on it; needs ' +
                                'target.providerRef and target.classRef).'),
        })),
        target: req(obj('The VirtualMachine to create.', {
            name: req(str('Name of the new VirtualMachine.',
                          { maxLength: 253, pattern: P.dnsLabel })),
            namespace: str('Namespace of the new VirtualMachine; the ' +
                           'clone\'s own when omitted.',
                           { maxLength: 63, pattern: P.dnsLabel }),
            providerRef: objectRef('Provider of the new VM; the source\'s ' +
                                   'when omitted.'),
            classRef: localRef('VMClass of the new VM; the source\'s when ' +
                               'omitted.'),
            placementRef: localRef('VMPlacementPolicy of the new VM.'),
            networks: networks('NICs of the new VM.'),
            disks: disks('Additional disks of the new VM.'),
            labels: strMap('Labels of the new VirtualMachine.',
                           { maxProperties: 50 }),
            annotations: strMap('Annotations of the new VirtualMachine.',
                                { maxProperties: 50 }),
        })),
        options: obj('How to clone.', {
            type: enm('Clone type.', cloneTypes, { default: 'FullClone' }),
            powerOn: bool('Power the clone on when done.', { default: false }),
            includeSnapshots: nyh(bool('Copy the source\'s snapshots.',
                                   { default: false })),
            parallel: nyh(bool('Copy disks in parallel.', { default: false })),
            timeout: nyh(duration('Timeout.', { default: '30m' })),
            retryPolicy: nyh(obj('Retries after a failure.', {
                maxRetries: int32('Maximum retries.',
                                  { minimum: 0, maximum: 10, default: 3 }),
                retryDelay: duration('Delay before the first retry.',
                                     { default: '5m' }),
                backoffMultiplier: int32('Delay multiplier per retry.',
                                         { default: 2 }),
            })),
            storage: nyh(obj('Storage of the clone.', {
                preferThinProvisioning: bool('Prefer thin disks.',
                                             { default: true }),
                diskFormat: enm('Disk provisioning type.',
                                ['thin', 'thick', 'eagerzeroedthick', 'ssd',
                                 'hdd', 'nvme']),
                storageClass: str('Storage class.', { maxLength: 253 }),
                datastore: str('Datastore.', { maxLength: 255 }),
                folder: str('VM folder.', { maxLength: 255 }),
                enableCompression: bool('Compress.', { default: false }),
            })),
            performance: nyh(obj('Performance of the copy.', {
                priority: enm('Priority.', ['Low', 'Normal', 'High'],
                              { default: 'Normal' }),
                ioThrottling: bool('Throttle I/O.', { default: false }),
                maxIOPS: int32('IOPS limit.', { minimum: 100, maximum: 100000 }),
                concurrentDisks: int32('Disks copied at once.',
                                       { minimum: 1, maximum: 10, default: 2 }),
            })),
        }),
        customization: nyh(customization),
        metadata: obj('Descriptive information.', {
            purpose: enm('What the clone is for.',
                         ['backup', 'testing', 'migration', 'development',
                          'production', 'staging']),
            createdBy: str('Who asked for the clone.', { maxLength: 255 }),
            project: str('Project.', { maxLength: 255 }),
            environment: environment(),
            tags: strMap('Tags.', { maxProperties: 50 }),
        }),
    }),
    status: obj('Observed state of the clone.', {
        targetRef: localRef('The VirtualMachine created.'),
        targetVMID: str('Provider-specific identifier of the new VM.'),
        phase: enm('Phase.', ['Pending', 'Preparing', 'Cloning', 'Customizing',
                              'Powering-On', 'Ready', 'Failed']),
        message: str('Human-readable detail about the phase.'),
        taskRef: str('Provider task of the running clone.'),
        startTime: time('When cloning started.'),
        completionTime: time('When cloning finished.'),
        actualCloneType: enm('Clone type used.', cloneTypes),
        progress: obj('Progress.', {
            totalDisks: int32('Disks to copy.'),
            completedDisks: int32('Disks copied.'),
            currentDisk: obj('The disk being copied.', {
                name: req(str('Disk name.')),
                totalBytes: int64('Bytes to copy.'),
                completedBytes: int64('Bytes copied.'),
                percentage: int32('Percent done.', { minimum: 0, maximum: 100 }),
                transferRate: int64('Bytes per second.'),
            }),
            overallPercentage: int32('Percent done.',
                                     { minimum: 0, maximum: 100 }),
            eta: duration('Estimated time left.'),
        }),
        conditions: conditions(),
        observedGeneration: int64('The .metadata.generation last acted on.'),
        retryCount: int32('Retries so far.'),
        lastRetryTime: time('When the last retry started.'),
        customizationStatus: obj('Progress of the customization.', {
            started: bool('Customization started.'),
            completed: bool('Customization finished.'),
            completedSteps: strList('Steps done.'),
            failedSteps: strList('Steps that failed.'),
            currentStep: str('Step running.'),
            message: str('Details.'),
        }),
    }),
};
