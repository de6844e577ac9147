"""core/v1 messages (``Namespace``, ``Secret``, ``ConfigMap``, ``ServiceAccount``,
``PersistentVolumeClaim``, ``Event`` and the pod template a Job carries) in the compact form
:mod:`emulator.protobuf.schema` reads.

Field numbers, types, Go pointers and ``omitempty`` are those of kube-apiserver v1.32's
``k8s.io/api/core/v1`` types; only the messages reachable from the served kinds are listed.
"""

__all__ = ["CORE"]

CORE = """
Namespace: metadata=1:meta.ObjectMeta~ spec=2:NamespaceSpec~ status=3:NamespaceStatus~
NamespaceSpec: finalizers=1:[]s~
NamespaceStatus: phase=1:s~ conditions=2:[]NamespaceCondition~
NamespaceCondition: type=1:s status=2:s lastTransitionTime=4:meta.Time~ reason=5:s~
    message=6:s~
NamespaceList: metadata=1:meta.ListMeta~ items=2:[]Namespace
Secret: metadata=1:meta.ObjectMeta~ immutable=5:*bool~ data=2:{}b~ stringData=4:{}s~
    type=3:s~
SecretList: metadata=1:meta.ListMeta~ items=2:[]Secret
ConfigMap: metadata=1:meta.ObjectMeta~ immutable=4:*bool~ data=2:{}s~ binaryData=3:{}b~
ConfigMapList: metadata=1:meta.ListMeta~ items=2:[]ConfigMap
ServiceAccount: metadata=1:meta.ObjectMeta~ secrets=2:[]ObjectReference~
    imagePullSecrets=3:[]LocalObjectReference~ automountServiceAccountToken=4:*bool~
ObjectReference: kind=1:s~ namespace=2:s~ name=3:s~ uid=4:s~ apiVersion=5:s~
    resourceVersion=6:s~ fieldPath=7:s~
LocalObjectReference: name=1:s~
ServiceAccountList: metadata=1:meta.ListMeta~ items=2:[]ServiceAccount
PersistentVolumeClaim: metadata=1:meta.ObjectMeta~ spec=2:PersistentVolumeClaimSpec~
    status=3:PersistentVolumeClaimStatus~
PersistentVolumeClaimSpec: accessModes=1:[]s~ selector=4:*meta.LabelSelector~
    resources=2:VolumeResourceRequirements~ volumeName=3:s~ storageClassName=5:*s~
    volumeMode=6:*s~ dataSource=7:*TypedLocalObjectReference~
    dataSourceRef=8:*TypedObjectReference~ volumeAttributesClassName=9:*s~
VolumeResourceRequirements: limits=1:{}meta.Quantity~ requests=2:{}meta.Quantity~
TypedLocalObjectReference: apiGroup=1:*s kind=2:s name=3:s
TypedObjectReference: apiGroup=1:*s kind=2:s name=3:s namespace=4:*s~
PersistentVolumeClaimStatus: phase=1:s~ accessModes=2:[]s~ capacity=3:{}meta.Quantity~
    conditions=4:[]PersistentVolumeClaimCondition~ allocatedResources=5:{}meta.Quantity~
    allocatedResourceStatuses=7:{}s~ currentVolumeAttributesClassName=8:*s~
    modifyVolumeStatus=9:*ModifyVolumeStatus~
PersistentVolumeClaimCondition: type=1:s status=2:s lastProbeTime=3:meta.Time~
    lastTransitionTime=4:meta.Time~ reason=5:s~ message=6:s~
ModifyVolumeStatus: targetVolumeAttributesClassName=1:s~ status=2:s
PersistentVolumeClaimList: metadata=1:meta.ListMeta~ items=2:[]PersistentVolumeClaim
Event: metadata=1:meta.ObjectMeta involvedObject=2:ObjectReference reason=3:s~ message=4:s~
    source=5:EventSource~ firstTimestamp=6:meta.Time~ lastTimestamp=7:meta.Time~
    count=8:i32~ type=9:s~ eventTime=10:meta.MicroTime~ series=11:*EventSeries~ action=12:s~
    related=13:*ObjectReference~ reportingComponent=14:s reportingInstance=15:s
EventSource: component=1:s~ host=2:s~
EventSeries: count=1:i32~ lastObservedTime=2:meta.MicroTime~
EventList: metadata=1:meta.ListMeta~ items=2:[]Event
PodTemplateSpec: metadata=1:meta.ObjectMeta~ spec=2:PodSpec~
PodSpec: volumes=1:[]Volume~ initContainers=20:[]Container~ containers=2:[]Container
    ephemeralContainers=34:[]EphemeralContainer~ restartPolicy=3:s~
    terminationGracePeriodSeconds=4:*i64~ activeDeadlineSeconds=5:*i64~ dnsPolicy=6:s~
    nodeSelector=7:{}s~ serviceAccountName=8:s~ serviceAccount=9:s~
    automountServiceAccountToken=21:*bool~ nodeName=10:s~ hostNetwork=11:bool~
    hostPID=12:bool~ hostIPC=13:bool~ shareProcessNamespace=27:*bool~
    securityContext=14:*PodSecurityContext~ imagePullSecrets=15:[]LocalObjectReference~
    hostname=16:s~ subdomain=17:s~ affinity=18:*Affinity~ schedulerName=19:s~
    tolerations=22:[]Toleration~ hostAliases=23:[]HostAlias~ priorityClassName=24:s~
    priority=25:*i32~ dnsConfig=26:*PodDNSConfig~ readinessGates=28:[]PodReadinessGate~
    runtimeClassName=29:*s~ enableServiceLinks=30:*bool~ preemptionPolicy=31:*s~
    overhead=32:{}meta.Quantity~ topologySpreadConstraints=33:[]TopologySpreadConstraint~
    setHostnameAsFQDN=35:*bool~ os=36:*PodOS~ hostUsers=37:*bool~
    schedulingGates=38:[]PodSchedulingGate~ resourceClaims=39:[]PodResourceClaim~
    resources=40:*ResourceRequirements~
Volume: name=1:s ^volumeSource=2:VolumeSource
VolumeSource: hostPath=1:*HostPathVolumeSource~ emptyDir=2:*EmptyDirVolumeSource~
    gcePersistentDisk=3:*GCEPersistentDiskVolumeSource~
    awsElasticBlockStore=4:*AWSElasticBlockStoreVolumeSource~
    gitRepo=5:*GitRepoVolumeSource~ secret=6:*SecretVolumeSource~ nfs=7:*NFSVolumeSource~
    iscsi=8:*ISCSIVolumeSource~ glusterfs=9:*GlusterfsVolumeSource~
    persistentVolumeClaim=10:*PersistentVolumeClaimVolumeSource~ rbd=11:*RBDVolumeSource~
    flexVolume=12:*FlexVolumeSource~ cinder=13:*CinderVolumeSource~
    cephfs=14:*CephFSVolumeSource~ flocker=15:*FlockerVolumeSource~
    downwardAPI=16:*DownwardAPIVolumeSource~ fc=17:*FCVolumeSource~
    azureFile=18:*AzureFileVolumeSource~ configMap=19:*ConfigMapVolumeSource~
    vsphereVolume=20:*VsphereVirtualDiskVolumeSource~ quobyte=21:*QuobyteVolumeSource~
    azureDisk=22:*AzureDiskVolumeSource~
    photonPersistentDisk=23:*PhotonPersistentDiskVolumeSource~
    projected=26:*ProjectedVolumeSource~ portworxVolume=24:*PortworxVolumeSource~
    scaleIO=25:*ScaleIOVolumeSource~ storageos=27:*StorageOSVolumeSource~
    csi=28:*CSIVolumeSource~ ephemeral=29:*EphemeralVolumeSource~
    image=30:*ImageVolumeSource~
HostPathVolumeSource: path=1:s type=2:*s~
EmptyDirVolumeSource: medium=1:s~ sizeLimit=2:*meta.Quantity~
GCEPersistentDiskVolumeSource: pdName=1:s fsType=2:s~ partition=3:i32~ readOnly=4:bool~
AWSElasticBlockStoreVolumeSource: volumeID=1:s fsType=2:s~ partition=3:i32~ readOnly=4:bool~
GitRepoVolumeSource: repository=1:s revision=2:s~ directory=3:s~
SecretVolumeSource: secretName=1:s~ items=2:[]KeyToPath~ defaultMode=3:*i32~
    optional=4:*bool~
KeyToPath: key=1:s path=2:s mode=3:*i32~
NFSVolumeSource: server=1:s path=2:s readOnly=3:bool~
ISCSIVolumeSource: targetPortal=1:s iqn=2:s lun=3:i32 iscsiInterface=4:s~ fsType=5:s~
    readOnly=6:bool~ portals=7:[]s~ chapAuthDiscovery=8:bool~ chapAuthSession=11:bool~
    secretRef=10:*LocalObjectReference~ initiatorName=12:*s~
GlusterfsVolumeSource: endpoints=1:s path=2:s readOnly=3:bool~
PersistentVolumeClaimVolumeSource: claimName=1:s readOnly=2:bool~
RBDVolumeSource: monitors=1:[]s image=2:s fsType=3:s~ pool=4:s~ user=5:s~ keyring=6:s~
    secretRef=7:*LocalObjectReference~ readOnly=8:bool~
FlexVolumeSource: driver=1:s fsType=2:s~ secretRef=3:*LocalObjectReference~ readOnly=4:bool~
    options=5:{}s~
CinderVolumeSource: volumeID=1:s fsType=2:s~ readOnly=3:bool~
    secretRef=4:*LocalObjectReference~
CephFSVolumeSource: monitors=1:[]s path=2:s~ user=3:s~ secretFile=4:s~
    secretRef=5:*LocalObjectReference~ readOnly=6:bool~
FlockerVolumeSource: datasetName=1:s~ datasetUUID=2:s~
DownwardAPIVolumeSource: items=1:[]DownwardAPIVolumeFile~ defaultMode=2:*i32~
DownwardAPIVolumeFile: path=1:s fieldRef=2:*ObjectFieldSelector~
    resourceFieldRef=3:*ResourceFieldSelector~ mode=4:*i32~
ObjectFieldSelector: apiVersion=1:s~ fieldPath=2:s
ResourceFieldSelector: containerName=1:s~ resource=2:s divisor=3:meta.Quantity~
FCVolumeSource: targetWWNs=1:[]s~ lun=2:*i32~ fsType=3:s~ readOnly=4:bool~ wwids=5:[]s~
AzureFileVolumeSource: secretName=1:s shareName=2:s readOnly=3:bool~
ConfigMapVolumeSource: ^localObjectReference=1:LocalObjectReference items=2:[]KeyToPath~
    defaultMode=3:*i32~ optional=4:*bool~
VsphereVirtualDiskVolumeSource: volumePath=1:s fsType=2:s~ storagePolicyName=3:s~
    storagePolicyID=4:s~
QuobyteVolumeSource: registry=1:s volume=2:s readOnly=3:bool~ user=4:s~ group=5:s~
    tenant=6:s~
AzureDiskVolumeSource: diskName=1:s diskURI=2:s cachingMode=3:*s~ fsType=4:*s~
    readOnly=5:*bool~ kind=6:*s~
PhotonPersistentDiskVolumeSource: pdID=1:s fsType=2:s~
ProjectedVolumeSource: sources=1:[]VolumeProjection defaultMode=2:*i32~
VolumeProjection: secret=1:*SecretProjection~ downwardAPI=2:*DownwardAPIProjection~
    configMap=3:*ConfigMapProjection~ serviceAccountToken=4:*ServiceAccountTokenProjection~
    clusterTrustBundle=5:*ClusterTrustBundleProjection~
SecretProjection: ^localObjectReference=1:LocalObjectReference items=2:[]KeyToPath~
    optional=4:*bool~
DownwardAPIProjection: items=1:[]DownwardAPIVolumeFile~
ConfigMapProjection: ^localObjectReference=1:LocalObjectReference items=2:[]KeyToPath~
    optional=4:*bool~
ServiceAccountTokenProjection: audience=1:s~ expirationSeconds=2:*i64~ path=3:s
ClusterTrustBundleProjection: name=1:*s~ signerName=2:*s~
    labelSelector=3:*meta.LabelSelector~ optional=5:*bool~ path=4:s
PortworxVolumeSource: volumeID=1:s fsType=2:s~ readOnly=3:bool~
ScaleIOVolumeSource: gateway=1:s system=2:s secretRef=3:*LocalObjectReference
    sslEnabled=4:bool~ protectionDomain=5:s~ storagePool=6:s~ storageMode=7:s~
    volumeName=8:s~ fsType=9:s~ readOnly=10:bool~
StorageOSVolumeSource: volumeName=1:s~ volumeNamespace=2:s~ fsType=3:s~ readOnly=4:bool~
    secretRef=5:*LocalObjectReference~
CSIVolumeSource: driver=1:s readOnly=2:*bool~ fsType=3:*s~ volumeAttributes=4:{}s~
    nodePublishSecretRef=5:*LocalObjectReference~
EphemeralVolumeSource: volumeClaimTemplate=1:*PersistentVolumeClaimTemplate~
PersistentVolumeClaimTemplate: metadata=1:meta.ObjectMeta~ spec=2:PersistentVolumeClaimSpec
ImageVolumeSource: reference=1:s~ pullPolicy=2:s~
Container: name=1:s image=2:s~ command=3:[]s~ args=4:[]s~ workingDir=5:s~
    ports=6:[]ContainerPort~ envFrom=19:[]EnvFromSource~ env=7:[]EnvVar~
    resources=8:ResourceRequirements~ resizePolicy=23:[]ContainerResizePolicy~
    restartPolicy=24:*s~ volumeMounts=9:[]VolumeMount~ volumeDevices=21:[]VolumeDevice~
    livenessProbe=10:*Probe~ readinessProbe=11:*Probe~ startupProbe=22:*Probe~
    lifecycle=12:*Lifecycle~ terminationMessagePath=13:s~ terminationMessagePolicy=20:s~
    imagePullPolicy=14:s~ securityContext=15:*SecurityContext~ stdin=16:bool~
    stdinOnce=17:bool~ tty=18:bool~
ContainerPort: name=1:s~ hostPort=2:i32~ containerPort=3:i32 protocol=4:s~ hostIP=5:s~
EnvFromSource: prefix=1:s~ configMapRef=2:*ConfigMapEnvSource~ secretRef=3:*SecretEnvSource~
ConfigMapEnvSource: ^localObjectReference=1:LocalObjectReference optional=2:*bool~
SecretEnvSource: ^localObjectReference=1:LocalObjectReference optional=2:*bool~
EnvVar: name=1:s value=2:s~ valueFrom=3:*EnvVarSource~
EnvVarSource: fieldRef=1:*ObjectFieldSelector~ resourceFieldRef=2:*ResourceFieldSelector~
    configMapKeyRef=3:*ConfigMapKeySelector~ secretKeyRef=4:*SecretKeySelector~
ConfigMapKeySelector: ^localObjectReference=1:LocalObjectReference key=2:s optional=3:*bool~
SecretKeySelector: ^localObjectReference=1:LocalObjectReference key=2:s optional=3:*bool~
ResourceRequirements: limits=1:{}meta.Quantity~ requests=2:{}meta.Quantity~
    claims=3:[]ResourceClaim~
ResourceClaim: name=1:s request=2:s~
ContainerResizePolicy: resourceName=1:s restartPolicy=2:s
VolumeMount: name=1:s readOnly=2:bool~ recursiveReadOnly=7:*s~ mountPath=3:s subPath=4:s~
    mountPropagation=5:*s~ subPathExpr=6:s~
VolumeDevice: name=1:s devicePath=2:s
Probe: ^handler=1:ProbeHandler initialDelaySeconds=2:i32~ timeoutSeconds=3:i32~
    periodSeconds=4:i32~ successThreshold=5:i32~ failureThreshold=6:i32~
    terminationGracePeriodSeconds=7:*i64~
ProbeHandler: exec=1:*ExecAction~ httpGet=2:*HTTPGetAction~ tcpSocket=3:*TCPSocketAction~
    grpc=4:*GRPCAction~
ExecAction: command=1:[]s~
HTTPGetAction: path=1:s~ port=2:meta.IntOrString host=3:s~ scheme=4:s~
    httpHeaders=5:[]HTTPHeader~
HTTPHeader: name=1:s value=2:s
TCPSocketAction: port=1:meta.IntOrString host=2:s~
GRPCAction: port=1:i32 service=2:*s
Lifecycle: postStart=1:*LifecycleHandler~ preStop=2:*LifecycleHandler~
LifecycleHandler: exec=1:*ExecAction~ httpGet=2:*HTTPGetAction~
    tcpSocket=3:*TCPSocketAction~ sleep=4:*SleepAction~
SleepAction: seconds=1:i64
SecurityContext: capabilities=1:*Capabilities~ privileged=2:*bool~
    seLinuxOptions=3:*SELinuxOptions~ windowsOptions=10:*WindowsSecurityContextOptions~
    runAsUser=4:*i64~ runAsGroup=8:*i64~ runAsNonRoot=5:*bool~
    readOnlyRootFilesystem=6:*bool~ allowPrivilegeEscalation=7:*bool~ procMount=9:*s~
    seccompProfile=11:*SeccompProfile~ appArmorProfile=12:*AppArmorProfile~
Capabilities: add=1:[]s~ drop=2:[]s~
SELinuxOptions: user=1:s~ role=2:s~ type=3:s~ level=4:s~
WindowsSecurityContextOptions: gmsaCredentialSpecName=1:*s~ gmsaCredentialSpec=2:*s~
    runAsUserName=3:*s~ hostProcess=4:*bool~
SeccompProfile: type=1:s localhostProfile=2:*s~
AppArmorProfile: type=1:s localhostProfile=2:*s~
EphemeralContainer: ^ephemeralContainerCommon=1:EphemeralContainerCommon
    targetContainerName=2:s~
EphemeralContainerCommon: =Container
PodSecurityContext: seLinuxOptions=1:*SELinuxOptions~
    windowsOptions=8:*WindowsSecurityContextOptions~ runAsUser=2:*i64~ runAsGroup=6:*i64~
    runAsNonRoot=3:*bool~ supplementalGroups=4:[]i64~ supplementalGroupsPolicy=12:*s~
    fsGroup=5:*i64~ sysctls=7:[]Sysctl~ fsGroupChangePolicy=9:*s~
    seccompProfile=10:*SeccompProfile~ appArmorProfile=11:*AppArmorProfile~
    seLinuxChangePolicy=13:*s~
Sysctl: name=1:s value=2:s
Affinity: nodeAffinity=1:*NodeAffinity~ podAffinity=2:*PodAffinity~
    podAntiAffinity=3:*PodAntiAffinity~
NodeAffinity: requiredDuringSchedulingIgnoredDuringExecution=1:*NodeSelector~
    preferredDuringSchedulingIgnoredDuringExecution=2:[]PreferredSchedulingTerm~
NodeSelector: nodeSelectorTerms=1:[]NodeSelectorTerm
NodeSelectorTerm: matchExpressions=1:[]NodeSelectorRequirement~
    matchFields=2:[]NodeSelectorRequirement~
NodeSelectorRequirement: key=1:s operator=2:s values=3:[]s~
PreferredSchedulingTerm: weight=1:i32 preference=2:NodeSelectorTerm
PodAffinity: requiredDuringSchedulingIgnoredDuringExecution=1:[]PodAffinityTerm~
    preferredDuringSchedulingIgnoredDuringExecution=2:[]WeightedPodAffinityTerm~
PodAffinityTerm: labelSelector=1:*meta.LabelSelector~ namespaces=2:[]s~ topologyKey=3:s
    namespaceSelector=4:*meta.LabelSelector~ matchLabelKeys=5:[]s~ mismatchLabelKeys=6:[]s~
WeightedPodAffinityTerm: weight=1:i32 podAffinityTerm=2:PodAffinityTerm
PodAntiAffinity: requiredDuringSchedulingIgnoredDuringExecution=1:[]PodAffinityTerm~
    preferredDuringSchedulingIgnoredDuringExecution=2:[]WeightedPodAffinityTerm~
Toleration: key=1:s~ operator=2:s~ value=3:s~ effect=4:s~ tolerationSeconds=5:*i64~
HostAlias: ip=1:s hostnames=2:[]s~
PodDNSConfig: nameservers=1:[]s~ searches=2:[]s~ options=3:[]PodDNSConfigOption~
PodDNSConfigOption: name=1:s~ value=2:*s~
PodReadinessGate: conditionType=1:s
TopologySpreadConstraint: maxSkew=1:i32 topologyKey=2:s whenUnsatisfiable=3:s
    labelSelector=4:*meta.LabelSelector~ minDomains=5:*i32~ nodeAffinityPolicy=6:*s~
    nodeTaintsPolicy=7:*s~ matchLabelKeys=8:[]s~
PodOS: name=1:s
PodSchedulingGate: name=1:s
PodResourceClaim: name=1:s resourceClaimName=3:*s~ resourceClaimTemplateName=4:*s~
"""
