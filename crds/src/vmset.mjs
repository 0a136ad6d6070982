// vmset.mjs - VMSet: N VirtualMachines from one template.
import {
    arr, bool, docStop, enm, int32, int64, intOrString, nyh, obj, req, str,
    strList, time,
} from './dsl.mjs';
import { conditions, labelSelector, pvcSpec, templateMeta } from './k8s.mjs';
import { vmSpec } from './virtualmachine.mjs';

const vmPhases = ['Pending', 'Provisioning', 'Running', 'Stopped',
                  'Reconfiguring', 'Deleting', 'Failed'];
const retention = (description) => enm(description, ['Retain', 'Delete'],
                                       { default: 'Retain' });

export default {
    kind: 'VMSet',
    plural: 'vmsets',
    shortNames: ['vmset'],
    doc: 'vmset',
    description: 'VMSet keeps a number of identical VirtualMachines made from ' +
        'one template, like a StatefulSet does for pods.',
    columns: [
        { name: 'Desired', type: 'integer', jsonPath: '.spec.replicas' },
        { name: 'Current', type: 'integer', jsonPath: '.status.replicas' },
        { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas' },
        { name: 'Updated', type: 'integer',
          jsonPath: '.status.updatedReplicas' },
        { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
    // `kubectl scale` support; status.selector exists for it.
    scale: {
        specReplicasPath: '.spec.replicas',
        statusReplicasPath: '.status.replicas',
        labelSelectorPath: '.status.selector',
    },
    spec: obj('Desired set of VMs.', {
        replicas: int32('Number of VMs.', { minimum: 0, maximum: 1000,
                                            default: 1 }),
        selector: req(labelSelector('Labels that identify the set\'s VMs; ' +
                                    'must match template.metadata.labels.')),
        template: req(obj('Template of each VM.', {
            metadata: templateMeta('Labels and annotations of each VM.'),
            spec: req(docStop({
                ...vmSpec,
                description: 'Spec of each VM: a VirtualMachine spec.',
                $docType: 'VirtualMachine spec',
            })),
        })),
        updateStrategy: obj('How VMs are replaced when the template ' +
                            'changes.', {
            type: enm('Strategy.', ['RollingUpdate', 'OnDelete', 'Recreate'],
                      { default: 'RollingUpdate' }),
            rollingUpdate: obj('Rolling update settings.', {
                maxUnavailable: intOrString('VMs that may be unavailable ' +
                                            'during the update (number or ' +
                                            'percentage).',
                                            { default: '25%' }),
                maxSurge: nyh(intOrString('VMs that may be created above ' +
                                          'replicas (number or percentage).',
                                          { default: '25%' })),
                partition: int32('Only VMs with an ordinal at or above this ' +
                                 'are updated.', { minimum: 0 }),
                podManagementPolicy: enm('Create VMs in order or all at once.',
                                         ['OrderedReady', 'Parallel'],
                                         { default: 'OrderedReady' }),
            }),
        }),
        minReadySeconds: int32('Seconds a new VM must be ready to count as ' +
                               'available.', { minimum: 0, maximum: 3600 }),
        revisionHistoryLimit: nyh(int32('Old revisions to keep.',
                                        { minimum: 0, maximum: 100, default: 10 })),
        persistentVolumeClaimRetentionPolicy: nyh(obj(
            'What happens to claims from volumeClaimTemplates.', {
                whenDeleted: retention('When the VMSet is deleted.'),
                whenScaled: retention('When the VMSet is scaled down.'),
            })),
        ordinals: obj('Numbering of the VMs.', {
            start: int32('First ordinal.', { minimum: 0, maximum: 999999,
                                             default: 0 }),
        }),
        serviceName: nyh(str('Governing Service name.', { maxLength: 253 })),
        volumeClaimTemplates: nyh(arr('Claims created for each VM.', obj(
            'A PersistentVolumeClaim template.', {
                metadata: templateMeta('Metadata of each claim.'),
                spec: req(pvcSpec('Spec of each claim.')),
            }), { maxItems: 20 })),
    }),
    status: obj('Observed state of the set.', {
        observedGeneration: int64('The .metadata.generation last acted on.'),
        replicas: int32('VMs that exist.'),
        selector: str('spec.selector in label-selector string form, for the ' +
                      'scale subresource (kubectl scale, autoscalers).'),
        readyReplicas: int32('VMs that are ready.'),
        availableReplicas: int32('VMs ready for at least minReadySeconds.'),
        updatedReplicas: int32('VMs at the update revision.'),
        currentRevision: str('Revision of the current VMs.'),
        updateRevision: str('Revision being rolled out.'),
        collisionCount: int32('Revision name collisions.'),
        conditions: conditions(),
        currentReplicas: int32('VMs at the current revision.'),
        updateStatus: obj('Progress of a rollout.', {
            phase: enm('Phase.', ['Pending', 'InProgress', 'Paused',
                                  'Completed', 'Failed']),
            message: str('Details.'),
            startTime: time('When the rollout started.'),
            completionTime: time('When it finished.'),
            updatedVMs: strList('VMs updated.', { maxItems: 1000 }),
            pendingVMs: strList('VMs still to update.', { maxItems: 1000 }),
            failedVMs: arr('VMs whose update failed.', obj('A VM.', {
                name: req(str('VM name.')),
                reason: str('Reason.'),
                message: str('Details.'),
                lastAttempt: time('Last attempt.'),
                retryCount: int32('Retries.'),
            }), { maxItems: 1000 }),
        }),
        vmStatus: arr('State of each VM.', obj('One VM.', {
            name: req(str('VM name.')),
            phase: enm('VM phase.', vmPhases),
            ready: bool('Whether it is ready.'),
            revision: str('Its revision.'),
            creationTime: time('When it was created.'),
            lastUpdateTime: time('When it last changed.'),
            message: str('Details.'),
        }), { maxItems: 1000 }),
    }),
};
