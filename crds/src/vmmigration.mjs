// vmmigration.mjs - VMMigration: move a VM's disk to another provider.
import {
    P, bool, duration, enm, int32, int64, nyh, obj, quantity, req, str,
    strList, strMap, time,
} from './dsl.mjs';
import { conditions } from './k8s.mjs';
import {
    disks, environment, localRef, networks, objectRef,
} from './common.mjs';

const phases = ['Pending', 'Validating', 'Snapshotting', 'Exporting',
                'Transferring', 'Converting', 'Importing', 'Creating',
                'Validating-Target', 'Ready', 'Failed'];

const storage = obj('Where the disk is staged between export and import.', {
    type: req(enm('Staging backend.', ['pvc', 'nfs', 's3', 'sftp'],
                  { default: 'pvc' })),
    transferMode: nyh(enm('relay: bytes pass through the manager or provider; ' +
                      'direct: between the hypervisors; auto: relay unless ' +
                      'both ends support direct.',
                      ['auto', 'relay', 'direct'], { default: 'auto' })),
    pvc: nyh(obj('A PersistentVolumeClaim.', {
        name: str('Existing claim; one named <migration>-storage is created ' +
                  'when omitted.'),
        storageClassName: str('StorageClass of a created claim.'),
        size: str('Size of a created claim, e.g. 100Gi.', {
            pattern: String.raw`^[0-9]+(\.[0-9]+)?(Ei?|Pi?|Ti?|Gi?|Mi?|Ki?)$`,
        }),
        accessMode: enm('Access mode of a created claim.',
                        ['ReadWriteOnce', 'ReadWriteMany', 'ReadOnlyMany'],
                        { default: 'ReadWriteMany' }),
        mountPath: str('Where the claim is mounted.',
                       { default: '/mnt/migration-storage' }),
    })),
    nfs: nyh(obj('An NFS export.', {
        server: req(str('NFS server host name or address.', { maxLength: 253 })),
        export: req(str('Exported path.', { maxLength: 4096 })),
        path: str('Sub-path within the export.', { maxLength: 4096 }),
        readOnly: bool('Mount read-only.', { default: false }),
        uid: int64('UID that owns files on the export.',
                   { minimum: 0, maximum: 4294967295 }),
        gid: int64('GID that owns files on the export.',
                   { minimum: 0, maximum: 4294967295 }),
    })),
    s3: obj('An S3 bucket (multipart upload, SigV4).', {
        bucket: req(str('Bucket.')),
        endpoint: str('Endpoint URL, http(s)://host[:port] (for non-AWS S3); ' +
                      'the manager refuses loopback, link-local, unspecified ' +
                      'and multicast addresses unless its ' +
                      '--migration-storage-allowed-hosts lists them.',
                      { maxLength: 263 }),
        region: str('Region (signing scope); us-east-1 when omitted.'),
        prefix: str('Key prefix.'),
        credentialsSecretRef: req(objectRef('Secret with accessKeyID, ' +
                                            'secretAccessKey and optionally ' +
                                            'sessionToken.')),
        usePathStyle: bool('Path-style addressing (most non-AWS S3).',
                           { default: false }),
    }),
    sftp: obj('A directory on an SSH server (SFTP); not in the upstream API.', {
        host: req(str('Server host name or address; the same address policy ' +
                      'as s3.endpoint applies.', { maxLength: 253 })),
        port: int32('SSH port.', { minimum: 1, maximum: 65535, default: 22 }),
        path: req(str('Directory on the server; the migration stages under ' +
                      '<path>/<namespace>-<name>/.', { maxLength: 4096 })),
        credentialsSecretRef: req(objectRef('Secret with username, password or ' +
                                            'privateKey, and knownHosts (the ' +
                                            'server\'s host key in known_hosts ' +
                                            'format; unknown keys are refused).')),
    }),
});

export default {
    kind: 'VMMigration',
    plural: 'vmmigrations',
    shortNames: ['vmmig'],
    doc: 'vmmigration',
    description: 'VMMigration moves a VirtualMachine to another provider ' +
        '(possibly of another type): snapshot, export the disk, stage it, ' +
        'import it, and create the target VirtualMachine.',
    columns: [
        { name: 'Source', type: 'string', jsonPath: '.spec.source.vmRef.name' },
        { name: 'Target', type: 'string', jsonPath: '.spec.target.name' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Progress', type: 'integer',
          jsonPath: '.status.progress.percentage' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
    spec: obj('Desired migration.', {
        source: req(obj('The VM to migrate.', {
            vmRef: req(localRef('The VirtualMachine.')),
            providerRef: objectRef('Its Provider; taken from the VM when ' +
                                   'omitted.'),
            snapshotRef: localRef('Export this existing VMSnapshot instead ' +
                                  'of taking one.'),
            createSnapshot: bool('Take a snapshot to export from.',
                                 { default: true }),
            powerOffBeforeMigration: bool('Power the source off (through its ' +
                                          'spec) and wait for it before ' +
                                          'exporting; it stays off.',
                                          { default: false }),
            deleteAfterMigration: bool('Delete the source VirtualMachine ' +
                                       'when done.', { default: false }),
        })),
        target: req(obj('The VirtualMachine to create.', {
            name: req(str('Name of the target VirtualMachine.',
                          { maxLength: 253, pattern: P.dnsLabel })),
            namespace: str('Its namespace; the migration\'s when omitted.',
                           { maxLength: 63, pattern: P.dnsLabel }),
            providerRef: req(objectRef('The target Provider.')),
            classRef: localRef('VMClass of the target VM.'),
            imageRef: localRef('VMImage recorded on the target VM.'),
            networks: networks('NICs of the target VM (vSphere targets need ' +
                               'one).'),
            disks: disks('Additional disks of the target VM.'),
            placementRef: localRef('VMPlacementPolicy of the target VM.'),
            powerOn: bool('Power the target VM on when done.',
                          { default: false }),
            labels: strMap('Labels of the target VirtualMachine.',
                           { maxProperties: 50 }),
            annotations: strMap('Annotations of the target VirtualMachine.',
                                { maxProperties: 50 }),
        })),
        options: obj('How to migrate.', {
            diskFormat: enm('Format of the staged disk.',
                            ['qcow2', 'vmdk', 'raw']),
            compress: nyh(bool('Compress the staged disk.', { default: false })),
            verifyChecksums: bool('Verify the SHA-256 of the staged disk on ' +
                                  'import.', { default: true }),
            timeout: nyh(duration('Timeout of the whole migration.',
                                  { default: '4h' })),
            retryPolicy: obj('Retries after a failure.', {
                maxRetries: int32('Maximum retries.',
                                  { minimum: 0, maximum: 10, default: 3 }),
                retryDelay: duration('Delay before the first retry.',
                                     { default: '5m' }),
                backoffMultiplier: int32('Delay multiplier per retry.',
                                         { minimum: 1, maximum: 10,
                                           default: 2 }),
            }),
            cleanupPolicy: enm('When to delete the staged disk and the ' +
                               'migration snapshot.',
                               ['Always', 'OnSuccess', 'Never'],
                               { default: 'OnSuccess' }),
            validationChecks: nyh(obj('Checks on the target.', {
                checkDiskSize: bool('Compare disk sizes.', { default: true }),
                checkChecksum: bool('Compare checksums.', { default: true }),
                checkBoot: bool('Check that the target boots.',
                                { default: false }),
                checkConnectivity: bool('Check network connectivity.',
                                        { default: false }),
            })),
        }),
        storage,
        metadata: obj('Descriptive information.', {
            purpose: enm('What the migration is for.',
                         ['disaster-recovery', 'cloud-migration',
                          'provider-change', 'testing', 'maintenance']),
            createdBy: str('Who asked for it.', { maxLength: 255 }),
            project: str('Project.', { maxLength: 255 }),
            environment: environment(),
            tags: strMap('Tags.', { maxProperties: 50 }),
        }),
    }),
    status: obj('Observed state of the migration.', {
        phase: enm('Phase.', phases),
        message: str('Human-readable detail about the phase.'),
        targetVMRef: localRef('The VirtualMachine created.'),
        snapshotRef: str('Snapshot exported from.'),
        snapshotID: str('Provider-specific identifier of that snapshot.'),
        exportID: str('Identifier of the export.'),
        importID: str('Identifier of the import.'),
        taskRef: str('Provider task of a running step.'),
        targetVMID: str('Provider-specific identifier of the target VM.'),
        startTime: time('When the migration started.'),
        completionTime: time('When it finished.'),
        progress: obj('Progress.', {
            currentPhase: enm('Phase in progress.', phases),
            totalBytes: int64('Bytes to move.'),
            transferredBytes: int64('Bytes moved.'),
            percentage: int32('Percent done.', { minimum: 0, maximum: 100 }),
            eta: duration('Estimated time left.'),
            transferRate: int64('Bytes per second.'),
            phaseStartTime: time('When the phase started.'),
        }),
        diskInfo: obj('The disk moved.', {
            sourceDiskID: str('Source disk identifier.'),
            sourceFormat: str('Source format.'),
            sourceSize: quantity('Source size.'),
            targetDiskID: str('Target disk identifier.'),
            targetFormat: str('Target format.'),
            targetPath: str('Path of the imported disk on the target.'),
            targetSize: quantity('Target size.'),
            checksum: str('Checksum.'),
            sourceChecksum: str('SHA-256 of the exported disk.'),
            targetChecksum: str('SHA-256 of the imported disk.'),
        }),
        storageInfo: obj('The staged disk.', {
            url: str('Where it is.'),
            size: quantity('Its size.'),
            uploadedAt: time('When it was written.'),
            cleanedUp: bool('Whether it has been deleted.'),
        }),
        storagePVCName: str('The claim used for staging.'),
        conditions: conditions(),
        observedGeneration: int64('The .metadata.generation last acted on.'),
        retryCount: int32('Retries so far.'),
        lastRetryTime: time('When the last retry started.'),
        validationResults: obj('Results of validationChecks.', {
            diskSizeMatch: bool('Disk sizes match.'),
            checksumMatch: bool('Checksums match.'),
            bootSuccess: bool('The target booted.'),
            connectivitySuccess: bool('The target is reachable.'),
            validationErrors: strList('Errors.'),
        }),
    }),
};
