// vmsnapshot.mjs - VMSnapshot: a point-in-time snapshot of one VM.
import {
    arr, bool, docStop, duration, enm, int32, int64, mapOf, nyh, obj,
    quantity, req, str, strMap, time,
} from './dsl.mjs';
import { conditions } from './k8s.mjs';
import { environment, localRef } from './common.mjs';

// Five to seven cron fields (digits, names, * / , - ?), or a macro, or
// "@every <duration>".
const cron = '^(@(annually|yearly|monthly|weekly|daily|hourly|reboot)|' +
    '@every ([0-9]+(ns|us|ms|s|m|h))+|' +
    '[0-9A-Za-z*/,?-]+( [0-9A-Za-z*/,?-]+){4,6})$';

const snapshotRef = (description) => obj(description, {
    name: req(str('Name.')),
    namespace: str('Namespace.'),
    uid: str('UID.'),
});

export default {
    kind: 'VMSnapshot',
    plural: 'vmsnapshots',
    shortNames: ['vmsnap'],
    doc: 'vmsnapshot',
    description: 'VMSnapshot is a point-in-time snapshot of one ' +
        'VirtualMachine, with its retention rules.',
    columns: [
        { name: 'VM', type: 'string', jsonPath: '.spec.vmRef.name' },
        { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
        { name: 'Size', type: 'string', jsonPath: '.status.size' },
        { name: 'Created', type: 'date', jsonPath: '.status.creationTime' },
        { name: 'Expires', type: 'date', jsonPath: '.status.expiryTime' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
    spec: obj('Desired snapshot.', {
        vmRef: req(localRef('The VirtualMachine to snapshot.')),
        snapshotConfig: obj('How the snapshot is taken.', {
            name: str('Snapshot name hint (the provider may change it).', {
                maxLength: 255,
                pattern: '^[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?$',
            }),
            description: str('Description.', { maxLength: 1024 }),
            includeMemory: bool('Include the memory state.', { default: false }),
            quiesce: nyh(bool('Quiesce the guest file systems first.',
                              { default: true })),
            type: nyh(enm('Snapshot type.', ['Standard', 'Crash',
                                             'Application'],
                          { default: 'Standard' })),
            compression: nyh(bool('Compress the snapshot.', { default: false })),
            encryption: nyh(obj('Encrypt the snapshot.', {
                enabled: bool('Encrypt.', { default: false }),
                keyProvider: enm('Key provider.',
                                 ['standard', 'hardware', 'external']),
                keyRef: localRef('Secret with the keys.'),
            })),
            consistencyLevel: nyh(enm('Consistency level.',
                                      ['CrashConsistent',
                                       'FilesystemConsistent',
                                       'ApplicationConsistent'],
                                      { default: 'FilesystemConsistent' })),
        }),
        retentionPolicy: obj('When the snapshot is deleted.', {
            maxAge: duration('Delete the snapshot when it is older than this.'),
            maxCount: int32('Keep at most this many snapshots of the VM.',
                            { minimum: 1, maximum: 100 }),
            deleteOnVMDelete: bool('Delete the snapshot with its VM.',
                                   { default: true }),
            preservePinned: nyh(bool('Never delete pinned snapshots.',
                                     { default: true })),
            gracePeriod: nyh(duration('Delay before an expired snapshot is ' +
                                      'deleted.', { default: '24h' })),
        }),
        schedule: obj('Take snapshots on a schedule: the object becomes a ' +
                      'schedule that creates child VMSnapshots.', {
            enabled: bool('Enable the schedule.', { default: false }),
            cronSpec: str('Cron expression, e.g. "0 2 * * *" or "@daily".',
                          { pattern: cron }),
            timezone: str('Time zone of cronSpec (only UTC for now).',
                          { default: 'UTC' }),
            suspend: bool('Suspend the schedule.', { default: false }),
            concurrencyPolicy: enm('What to do when a run is still going.',
                                   ['Allow', 'Forbid', 'Replace'],
                                   { default: 'Forbid' }),
            successfulJobsHistoryLimit: int32('Successful runs to keep.', {
                minimum: 0, maximum: 100, default: 3,
            }),
            failedJobsHistoryLimit: int32('Failed runs to keep.', {
                minimum: 0, maximum: 100, default: 1,
            }),
        }),
        metadata: obj('Descriptive information.', {
            tags: strMap('Tags.', { maxProperties: 50 }),
            pinned: bool('Protect the snapshot from retention.',
                         { default: false }),
            application: str('Application the snapshot belongs to.',
                             { maxLength: 255 }),
            purpose: enm('What the snapshot is for.',
                         ['backup', 'testing', 'migration', 'restore-point',
                          'update', 'other']),
            environment: environment(),
        }),
    }),
    status: obj('Observed state of the snapshot.', {
        snapshotID: str('Provider-specific snapshot identifier.'),
        phase: enm('Phase.', ['Pending', 'Creating', 'Ready', 'Deleting',
                              'Failed', 'Expired']),
        message: str('Human-readable detail about the phase.'),
        creationTime: time('When the snapshot was taken.'),
        completionTime: time('When the snapshot was complete.'),
        size: quantity('Size on the provider.'),
        virtualSize: quantity('Virtual size.'),
        taskRef: str('Provider task of a running operation.'),
        conditions: conditions(),
        observedGeneration: int64('The .metadata.generation last acted on.'),
        progress: obj('Progress of a running snapshot.', {
            totalBytes: int64('Bytes to write.'),
            completedBytes: int64('Bytes written.'),
            percentage: int32('Percent done.', { minimum: 0, maximum: 100 }),
            startTime: time('When it started.'),
            eta: duration('Estimated time left.'),
        }),
        providerStatus: docStop(mapOf('State per provider.', obj(
            'State of the snapshot on one provider.', {
                available: req(bool('Whether the snapshot is there.')),
                id: str('Provider-specific identifier.'),
                path: str('Location on the provider.'),
                state: str('Provider-specific state.'),
                lastUpdated: time('When this entry was updated.'),
                message: str('Details.'),
            }), { $docType: 'map of object' })),
        children: arr('Child snapshots.', snapshotRef('A snapshot.')),
        parent: snapshotRef('Parent snapshot.'),
        expiryTime: time('When the snapshot expires.'),
        lastScheduleTime: time('A schedule: when it last fired.'),
        nextScheduleTime: time('A schedule: when it fires next.'),
    }),
};
