"""meta/v1 (with the wire-format helpers ``Time``, ``MicroTime``, ``Quantity``,
``IntOrString``, ``FieldsV1`` and the ``runtime.Unknown`` envelope), batch/v1,
coordination.k8s.io/v1, events.k8s.io/v1 and rbac.authorization.k8s.io/v1 messages in the compact
form :mod:`emulator.protobuf.schema` reads.

Field numbers, types, Go pointers and ``omitempty`` are those of kube-apiserver v1.32's types;
only the messages reachable from the served kinds are listed.
"""

__all__ = ["BATCH", "COORDINATION", "EVENTS", "META", "RBAC"]

META = """
Time: seconds=1:i64 nanos=2:i32
MicroTime: seconds=1:i64 nanos=2:i32
Quantity: string=1:s
IntOrString: type=1:i64 intVal=2:i32 strVal=3:s
FieldsV1: Raw=1:b
TypeMeta: apiVersion=1:s kind=2:s
Unknown: typeMeta=1:TypeMeta raw=2:b contentEncoding=3:s contentType=4:s
ObjectMeta: name=1:s~ generateName=2:s~ namespace=3:s~ selfLink=4:s~ uid=5:s~
    resourceVersion=6:s~ generation=7:i64~ creationTimestamp=8:meta.Time~
    deletionTimestamp=9:*meta.Time~ deletionGracePeriodSeconds=10:*i64~ labels=11:{}s~
    annotations=12:{}s~ ownerReferences=13:[]OwnerReference~ finalizers=14:[]s~
    managedFields=17:[]ManagedFieldsEntry~
OwnerReference: apiVersion=5:s kind=1:s name=3:s uid=4:s controller=6:*bool~
    blockOwnerDeletion=7:*bool~
ManagedFieldsEntry: manager=1:s~ operation=2:s~ apiVersion=3:s~ time=4:*meta.Time~
    fieldsType=6:s~ fieldsV1=7:*meta.FieldsV1~ subresource=8:s~
ListMeta: selfLink=1:s~ resourceVersion=2:s~ continue=3:s~ remainingItemCount=4:*i64~
LabelSelector: matchLabels=1:{}s~ matchExpressions=2:[]LabelSelectorRequirement~
LabelSelectorRequirement: key=1:s operator=2:s values=3:[]s~
Status: metadata=1:ListMeta~ status=2:s~ message=3:s~ reason=4:s~ details=5:*StatusDetails~
    code=6:i32~
StatusDetails: name=1:s~ group=2:s~ kind=3:s~ uid=6:s~ causes=4:[]StatusCause~
    retryAfterSeconds=5:i32~
StatusCause: reason=1:s~ message=2:s~ field=3:s~
DeleteOptions: gracePeriodSeconds=1:*i64~ preconditions=2:*Preconditions~
    orphanDependents=3:*bool~ propagationPolicy=4:*s~ dryRun=5:[]s~
    ignoreStoreReadErrorWithClusterBreakingPotential=6:*bool~
Preconditions: uid=1:*s~ resourceVersion=2:*s~
"""

BATCH = """
Job: metadata=1:meta.ObjectMeta~ spec=2:JobSpec~ status=3:JobStatus~
JobSpec: parallelism=1:*i32~ completions=2:*i32~ activeDeadlineSeconds=3:*i64~
    podFailurePolicy=11:*PodFailurePolicy~ successPolicy=16:*SuccessPolicy~
    backoffLimit=7:*i32~ backoffLimitPerIndex=12:*i32~ maxFailedIndexes=13:*i32~
    selector=4:*meta.LabelSelector~ manualSelector=5:*bool~ template=6:core.PodTemplateSpec
    ttlSecondsAfterFinished=8:*i32~ completionMode=9:*s~ suspend=10:*bool~
    podReplacementPolicy=14:*s~ managedBy=15:*s~
PodFailurePolicy: rules=1:[]PodFailurePolicyRule
PodFailurePolicyRule: action=1:s onExitCodes=2:*PodFailurePolicyOnExitCodesRequirement~
    onPodConditions=3:[]PodFailurePolicyOnPodConditionsPattern~
PodFailurePolicyOnExitCodesRequirement: containerName=1:*s~ operator=2:s values=3:[]i32
PodFailurePolicyOnPodConditionsPattern: type=1:s status=2:s
SuccessPolicy: rules=1:[]SuccessPolicyRule
SuccessPolicyRule: succeededIndexes=1:*s~ succeededCount=2:*i32~
JobStatus: conditions=1:[]JobCondition~ startTime=2:*meta.Time~ completionTime=3:*meta.Time~
    active=4:i32~ succeeded=5:i32~ failed=6:i32~ terminating=11:*i32~ completedIndexes=7:s~
    failedIndexes=10:*s~ uncountedTerminatedPods=8:*UncountedTerminatedPods~ ready=9:*i32~
JobCondition: type=1:s status=2:s lastProbeTime=3:meta.Time~ lastTransitionTime=4:meta.Time~
    reason=5:s~ message=6:s~
UncountedTerminatedPods: succeeded=1:[]s~ failed=2:[]s~
JobList: metadata=1:meta.ListMeta~ items=2:[]Job
"""

COORDINATION = """
Lease: metadata=1:meta.ObjectMeta~ spec=2:LeaseSpec~
LeaseSpec: holderIdentity=1:*s~ leaseDurationSeconds=2:*i32~ acquireTime=3:*meta.MicroTime~
    renewTime=4:*meta.MicroTime~ leaseTransitions=5:*i32~ strategy=6:*s~
    preferredHolder=7:*s~
LeaseList: metadata=1:meta.ListMeta~ items=2:[]Lease
"""

EVENTS = """
Event: metadata=1:meta.ObjectMeta eventTime=2:meta.MicroTime series=3:*EventSeries~
    reportingController=4:s~ reportingInstance=5:s~ action=6:s~ reason=7:s~
    regarding=8:core.ObjectReference~ related=9:*core.ObjectReference~ note=10:s~ type=11:s~
    deprecatedSource=12:core.EventSource~ deprecatedFirstTimestamp=13:meta.Time~
    deprecatedLastTimestamp=14:meta.Time~ deprecatedCount=15:i32~
EventSeries: count=1:i32 lastObservedTime=2:meta.MicroTime
EventList: metadata=1:meta.ListMeta~ items=2:[]Event
"""

RBAC = """
Role: metadata=1:meta.ObjectMeta~ rules=2:[]PolicyRule
PolicyRule: verbs=1:[]s apiGroups=2:[]s~ resources=3:[]s~ resourceNames=4:[]s~
    nonResourceURLs=5:[]s~
RoleList: metadata=1:meta.ListMeta~ items=2:[]Role
ClusterRole: metadata=1:meta.ObjectMeta~ rules=2:[]PolicyRule
    aggregationRule=3:*AggregationRule~
AggregationRule: clusterRoleSelectors=1:[]meta.LabelSelector~
ClusterRoleList: metadata=1:meta.ListMeta~ items=2:[]ClusterRole
RoleBinding: metadata=1:meta.ObjectMeta~ subjects=2:[]Subject~ roleRef=3:RoleRef
Subject: kind=1:s apiGroup=2:s~ name=3:s namespace=4:s~
RoleRef: apiGroup=1:s kind=2:s name=3:s
RoleBindingList: metadata=1:meta.ListMeta~ items=2:[]RoleBinding
ClusterRoleBinding: metadata=1:meta.ObjectMeta~ subjects=2:[]Subject~ roleRef=3:RoleRef
ClusterRoleBindingList: metadata=1:meta.ListMeta~ items=2:[]ClusterRoleBinding
"""
