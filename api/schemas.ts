// The OpenAPI schema of every built-in kind, under the definition names kube-apiserver uses.
import { anyObj, arr, bool, enumStr, int, int64, intOrString, keyedArr, mapOf, num, obj, quantity, ref, setArr, str, strMap, time, type Schema } from "./schema-dsl.js";
import { rbacDefinitions } from "./rbac.js";
import { policyDefinitions } from "./policy.js";
import { schedulingDefinitions } from "./scheduling.js";

const META = "io.k8s.apimachinery.pkg.apis.meta.v1";
const CORE = "io.k8s.api.core.v1";

const objectMeta = () => ref(`${META}.ObjectMeta`, "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata");
const apiVersionField = () => str("APIVersion defines the versioned schema of this representation of an object.");
const kindField = () => str("Kind is a string value representing the REST resource this object represents.");
const conditions = (def: string) => keyedArr(ref(def), "type", ["type"], "Conditions of the object, merged by type.");
const gvk = (group: string, version: string, kind: string) => ({ "x-kubernetes-group-version-kind": [{ group, version, kind }] });

/** A top-level kind: apiVersion, kind, metadata plus its own fields. */
function kind(group: string, version: string, k: string, description: string, fields: Record<string, Schema>, required: string[] = []): Schema {
  return obj({ apiVersion: apiVersionField(), kind: kindField(), metadata: objectMeta(), ...fields }, { description, required, ...gvk(group, version, k) });
}

function list(group: string, version: string, k: string, itemDef: string): Schema {
  return obj({ apiVersion: apiVersionField(), items: arr(ref(itemDef), `List of ${k}s.`), kind: kindField(), metadata: ref(`${META}.ListMeta`) },
    { description: `${k}List is a list of ${k}s.`, required: ["items"], ...gvk(group, version, `${k}List`) });
}

const d: Record<string, Schema> = {};

// --- apimachinery ---
d[`${META}.Time`] = { type: "string", format: "date-time", description: "Time is a wrapper around time.Time (RFC 3339)." };
d[`${META}.MicroTime`] = { type: "string", format: "date-time" };
d["io.k8s.apimachinery.pkg.api.resource.Quantity"] = { type: "string", description: "Quantity is a fixed-point representation of a number, e.g. 100m, 64Mi, 1.5Gi." , "x-kubernetes-int-or-string": true };
d["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = { type: "string", format: "int-or-string", "x-kubernetes-int-or-string": true };
d[`${META}.OwnerReference`] = obj({
  apiVersion: str("API version of the referent."), blockOwnerDeletion: bool(), controller: bool("If true, this reference points to the managing controller."),
  kind: str("Kind of the referent."), name: str("Name of the referent."), uid: str("UID of the referent."),
}, { required: ["apiVersion", "kind", "name", "uid"], description: "OwnerReference contains enough information to let you identify an owning object.", "x-kubernetes-map-type": "atomic" });
d[`${META}.ManagedFieldsEntry`] = obj({ apiVersion: str(), fieldsType: str(), fieldsV1: anyObj(), manager: str(), operation: str(), subresource: str(), time: time() });
d[`${META}.ObjectMeta`] = obj({
  annotations: strMap("Annotations is an unstructured key value map stored with a resource."),
  creationTimestamp: time("CreationTimestamp is a timestamp representing the server time when this object was created."),
  deletionGracePeriodSeconds: int64(), deletionTimestamp: time("The time after which this resource will be deleted."),
  finalizers: setArr(str(), "Must be empty before the object is deleted from the registry."),
  generateName: str("An optional prefix, used by the server, to generate a unique name."),
  generation: int64("A sequence number representing a specific generation of the desired state."),
  labels: strMap("Map of string keys and values that can be used to organize and categorize objects."),
  managedFields: arr(ref(`${META}.ManagedFieldsEntry`)),
  name: str("Name must be unique within a namespace."), namespace: str("Namespace defines the space within which each name must be unique."),
  ownerReferences: keyedArr(ref(`${META}.OwnerReference`), "uid", ["uid"], "List of objects depended by this object."),
  resourceVersion: str("An opaque value that represents the internal version of this object."),
  selfLink: str(), uid: str("UID is the unique in time and space value for this object."),
}, { description: "ObjectMeta is metadata that all persisted resources must have." });
d[`${META}.ListMeta`] = obj({ continue: str(), remainingItemCount: int64(), resourceVersion: str(), selfLink: str() });
d[`${META}.LabelSelectorRequirement`] = obj({ key: str(), operator: str(), values: arr(str()) }, { required: ["key", "operator"] });
d[`${META}.LabelSelector`] = obj({ matchExpressions: arr(ref(`${META}.LabelSelectorRequirement`)), matchLabels: strMap() },
  { description: "A label selector is a label query over a set of resources.", "x-kubernetes-map-type": "atomic" });
d[`${META}.Condition`] = obj({ lastTransitionTime: time(), message: str(), observedGeneration: int64(), reason: str(), status: str(), type: str() }, { required: ["type", "status"] });
// The older per-kind condition types: no observedGeneration, and some carry a second timestamp
// (a Deployment's lastUpdateTime, a Job's lastProbeTime, a Node's lastHeartbeatTime) that a
// write must keep, so each has its own definition as in kube-apiserver's OpenAPI.
const kindCondition = (description: string, times: string[] = []) => obj({
  lastTransitionTime: time("Last time the condition transitioned from one status to another."),
  ...Object.fromEntries(times.map((t) => [t, time()])),
  message: str("A human readable message indicating details about the transition."), reason: str("The reason for the condition's last transition."),
  status: str("Status of the condition, one of True, False, Unknown."), type: str("Type of the condition."),
}, { required: ["type", "status"], description });
d["io.k8s.api.core.v1.NamespaceCondition"] = kindCondition("NamespaceCondition contains details about state of namespace.");
d["io.k8s.api.core.v1.NodeCondition"] = kindCondition("NodeCondition contains condition information for a node.", ["lastHeartbeatTime"]);
d["io.k8s.api.apps.v1.DeploymentCondition"] = kindCondition("DeploymentCondition describes the state of a deployment at a certain point.", ["lastUpdateTime"]);
d["io.k8s.api.apps.v1.ReplicaSetCondition"] = kindCondition("ReplicaSetCondition describes the state of a replica set at a certain point.");
d["io.k8s.api.apps.v1.DaemonSetCondition"] = kindCondition("DaemonSetCondition describes the state of a DaemonSet at a certain point.");
d["io.k8s.api.apps.v1.StatefulSetCondition"] = kindCondition("StatefulSetCondition describes the state of a statefulset at a certain point.");
d["io.k8s.api.batch.v1.JobCondition"] = kindCondition("JobCondition describes current state of a job.", ["lastProbeTime"]);
d["io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerCondition"] = kindCondition("HorizontalPodAutoscalerCondition describes the state of a HorizontalPodAutoscaler at a certain point.");
d["io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionCondition"] = kindCondition("CustomResourceDefinitionCondition contains details for the current condition of this pod.");
d[`${META}.StatusCause`] = obj({ field: str(), message: str(), reason: str() });
d[`${META}.StatusDetails`] = obj({ causes: arr(ref(`${META}.StatusCause`)), group: str(), kind: str(), name: str(), retryAfterSeconds: int(), uid: str() });
d[`${META}.Status`] = obj({ apiVersion: apiVersionField(), code: int(), details: ref(`${META}.StatusDetails`), kind: kindField(), message: str(), metadata: ref(`${META}.ListMeta`), reason: str(), status: str() },
  { ...gvk("", "v1", "Status") });
d[`${META}.Patch`] = { type: "object", description: "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body." };
d[`${META}.DeleteOptions`] = obj({ apiVersion: str(), dryRun: arr(str()), gracePeriodSeconds: int64(), kind: str(), orphanDependents: bool(), preconditions: anyObj(), propagationPolicy: str() });
d[`${META}.WatchEvent`] = obj({ object: anyObj(), type: str() }, { required: ["type", "object"] });

// --- core/v1 building blocks ---
const resourceList = () => mapOf(quantity());
d[`${CORE}.ResourceRequirements`] = obj({ claims: arr(anyObj()), limits: mapOf(quantity(), "Limits describes the maximum amount of compute resources allowed."), requests: mapOf(quantity(), "Requests describes the minimum amount of compute resources required.") });
d[`${CORE}.ObjectFieldSelector`] = obj({ apiVersion: str(), fieldPath: str() }, { required: ["fieldPath"] });
d[`${CORE}.KeySelector`] = obj({ key: str(), name: str(), optional: bool() }, { required: ["key"] });
d[`${CORE}.EnvVarSource`] = obj({
  configMapKeyRef: ref(`${CORE}.KeySelector`), fieldRef: ref(`${CORE}.ObjectFieldSelector`),
  resourceFieldRef: obj({ containerName: str(), divisor: quantity(), resource: str() }, { required: ["resource"] }), secretKeyRef: ref(`${CORE}.KeySelector`),
});
d[`${CORE}.EnvVar`] = obj({ name: str("Name of the environment variable."), value: str(), valueFrom: ref(`${CORE}.EnvVarSource`) }, { required: ["name"] });
d[`${CORE}.EnvFromSource`] = obj({ configMapRef: obj({ name: str(), optional: bool() }), prefix: str(), secretRef: obj({ name: str(), optional: bool() }) });
d[`${CORE}.ContainerPort`] = obj({ containerPort: int("Number of port to expose on the pod's IP address."), hostIP: str(), hostPort: int(), name: str(), protocol: enumStr(["SCTP", "TCP", "UDP"]) }, { required: ["containerPort"] });
d[`${CORE}.VolumeMount`] = obj({ mountPath: str(), mountPropagation: str(), name: str(), readOnly: bool(), recursiveReadOnly: str(), subPath: str(), subPathExpr: str() }, { required: ["name", "mountPath"] });
d[`${CORE}.ExecAction`] = obj({ command: arr(str()) });
d[`${CORE}.HTTPGetAction`] = obj({ host: str(), httpHeaders: arr(obj({ name: str(), value: str() }, { required: ["name", "value"] })), path: str(), port: intOrString(), scheme: str() }, { required: ["port"] });
d[`${CORE}.TCPSocketAction`] = obj({ host: str(), port: intOrString() }, { required: ["port"] });
d[`${CORE}.GRPCAction`] = obj({ port: int(), service: str() }, { required: ["port"] });
d[`${CORE}.Probe`] = obj({
  exec: ref(`${CORE}.ExecAction`), failureThreshold: int(), grpc: ref(`${CORE}.GRPCAction`), httpGet: ref(`${CORE}.HTTPGetAction`), initialDelaySeconds: int(),
  periodSeconds: int(), successThreshold: int(), tcpSocket: ref(`${CORE}.TCPSocketAction`), terminationGracePeriodSeconds: int64(), timeoutSeconds: int(),
});
d[`${CORE}.LifecycleHandler`] = obj({ exec: ref(`${CORE}.ExecAction`), httpGet: ref(`${CORE}.HTTPGetAction`), sleep: obj({ seconds: int64() }), tcpSocket: ref(`${CORE}.TCPSocketAction`) });
d[`${CORE}.Lifecycle`] = obj({ postStart: ref(`${CORE}.LifecycleHandler`), preStop: ref(`${CORE}.LifecycleHandler`), stopSignal: str() });
d[`${CORE}.SecurityContext`] = obj({
  allowPrivilegeEscalation: bool(), appArmorProfile: anyObj(), capabilities: obj({ add: arr(str()), drop: arr(str()) }), privileged: bool(), procMount: str(),
  readOnlyRootFilesystem: bool(), runAsGroup: int64(), runAsNonRoot: bool(), runAsUser: int64(), seLinuxOptions: anyObj(), seccompProfile: anyObj(), windowsOptions: anyObj(),
});
d[`${CORE}.ContainerResizePolicy`] = obj({ resourceName: str(), restartPolicy: str() }, { required: ["resourceName", "restartPolicy"] });
d[`${CORE}.Container`] = obj({
  args: arr(str(), "Arguments to the entrypoint."), command: arr(str(), "Entrypoint array. Not executed within a shell."),
  env: keyedArr(ref(`${CORE}.EnvVar`), "name", ["name"], "List of environment variables to set in the container."),
  envFrom: arr(ref(`${CORE}.EnvFromSource`)), image: str("Container image name."),
  imagePullPolicy: enumStr(["Always", "IfNotPresent", "Never"], "Image pull policy."), lifecycle: ref(`${CORE}.Lifecycle`),
  livenessProbe: ref(`${CORE}.Probe`), name: str("Name of the container specified as a DNS_LABEL."),
  ports: keyedArr(ref(`${CORE}.ContainerPort`), "containerPort", ["containerPort", "protocol"], "List of ports to expose from the container."),
  readinessProbe: ref(`${CORE}.Probe`), resizePolicy: arr(ref(`${CORE}.ContainerResizePolicy`)), resources: ref(`${CORE}.ResourceRequirements`, "Compute Resources required by this container."),
  restartPolicy: str(), securityContext: ref(`${CORE}.SecurityContext`), startupProbe: ref(`${CORE}.Probe`), stdin: bool(), stdinOnce: bool(),
  terminationMessagePath: str(), terminationMessagePolicy: enumStr(["FallbackToLogsOnError", "File"]), tty: bool(),
  volumeDevices: keyedArr(obj({ devicePath: str(), name: str() }, { required: ["name", "devicePath"] }), "devicePath"),
  volumeMounts: keyedArr(ref(`${CORE}.VolumeMount`), "mountPath", ["mountPath"], "Pod volumes to mount into the container's filesystem."),
  workingDir: str(),
}, { required: ["name"], description: "A single application container that you want to run within a pod." });
d[`${CORE}.KeyToPath`] = obj({ key: str(), mode: int(), path: str() }, { required: ["key", "path"] });
d[`${CORE}.Volume`] = obj({
  name: str("Volume's name. Must be a DNS_LABEL and unique within the pod."),
  emptyDir: obj({ medium: str(), sizeLimit: quantity() }), hostPath: obj({ path: str(), type: str() }, { required: ["path"] }),
  configMap: obj({ defaultMode: int(), items: arr(ref(`${CORE}.KeyToPath`)), name: str(), optional: bool() }),
  secret: obj({ defaultMode: int(), items: arr(ref(`${CORE}.KeyToPath`)), optional: bool(), secretName: str() }),
  persistentVolumeClaim: obj({ claimName: str(), readOnly: bool() }, { required: ["claimName"] }),
  projected: anyObj(), downwardAPI: anyObj(), nfs: anyObj(), csi: anyObj(), ephemeral: anyObj(), image: anyObj(),
}, { required: ["name"], description: "Volume represents a named volume in a pod that may be accessed by any container in the pod." });
d[`${CORE}.Toleration`] = obj({ effect: str(), key: str(), operator: str(), tolerationSeconds: int64(), value: str() });
d[`${CORE}.Taint`] = obj({ effect: str(), key: str(), timeAdded: time(), value: str() }, { required: ["key", "effect"] });
d[`${CORE}.PodSpec`] = obj({
  activeDeadlineSeconds: int64(), affinity: anyObj("If specified, the pod's scheduling constraints"), automountServiceAccountToken: bool(),
  containers: keyedArr(ref(`${CORE}.Container`), "name", ["name"], "List of containers belonging to the pod."),
  dnsConfig: anyObj(), dnsPolicy: enumStr(["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"]), enableServiceLinks: bool(),
  ephemeralContainers: keyedArr(anyObj(), "name"), hostAliases: keyedArr(obj({ hostnames: arr(str()), ip: str() }, { required: ["ip"] }), "ip"),
  hostIPC: bool(), hostNetwork: bool(), hostPID: bool(), hostUsers: bool(), hostname: str(),
  imagePullSecrets: keyedArr(obj({ name: str() }), "name"), initContainers: keyedArr(ref(`${CORE}.Container`), "name", ["name"], "List of initialization containers belonging to the pod."),
  nodeName: str("NodeName indicates in which node this pod is scheduled."), nodeSelector: strMap("A selector which must be true for the pod to fit on a node."),
  os: anyObj(), overhead: resourceList(), preemptionPolicy: str(), priority: int(), priorityClassName: str(), readinessGates: arr(obj({ conditionType: str() })),
  resourceClaims: arr(anyObj()), resources: ref(`${CORE}.ResourceRequirements`), restartPolicy: enumStr(["Always", "Never", "OnFailure"], "Restart policy for all containers within the pod."),
  runtimeClassName: str(), schedulerName: str(), schedulingGates: arr(anyObj()), securityContext: anyObj(), serviceAccount: str(), serviceAccountName: str(),
  setHostnameAsFQDN: bool(), shareProcessNamespace: bool(), subdomain: str(), terminationGracePeriodSeconds: int64(),
  tolerations: arr(ref(`${CORE}.Toleration`)), topologySpreadConstraints: keyedArr(anyObj(), "topologyKey", ["topologyKey", "whenUnsatisfiable"]),
  volumes: keyedArr(ref(`${CORE}.Volume`), "name", ["name"], "List of volumes that can be mounted by containers belonging to the pod."),
}, { required: ["containers"], description: "PodSpec is a description of a pod." });
d[`${CORE}.ContainerState`] = obj({
  running: obj({ startedAt: time() }), terminated: obj({ containerID: str(), exitCode: int(), finishedAt: time(), message: str(), reason: str(), signal: int(), startedAt: time() }, { required: ["exitCode"] }),
  waiting: obj({ message: str(), reason: str() }),
});
d[`${CORE}.ContainerStatus`] = obj({
  allocatedResources: resourceList(), containerID: str(), image: str(), imageID: str(), lastState: ref(`${CORE}.ContainerState`), name: str(), ready: bool(),
  resources: ref(`${CORE}.ResourceRequirements`), restartCount: int(), started: bool(), state: ref(`${CORE}.ContainerState`), user: anyObj(), volumeMounts: arr(anyObj()),
}, { required: ["name", "ready", "restartCount", "image", "imageID"] });
d[`${CORE}.PodCondition`] = obj({ lastProbeTime: time(), lastTransitionTime: time(), message: str(), observedGeneration: int64(), reason: str(), status: str(), type: str() }, { required: ["type", "status"] });
d[`${CORE}.PodStatus`] = obj({
  conditions: conditions(`${CORE}.PodCondition`), containerStatuses: arr(ref(`${CORE}.ContainerStatus`)), ephemeralContainerStatuses: arr(ref(`${CORE}.ContainerStatus`)),
  hostIP: str(), hostIPs: keyedArr(obj({ ip: str() }), "ip"), initContainerStatuses: arr(ref(`${CORE}.ContainerStatus`)), message: str(), nominatedNodeName: str(),
  observedGeneration: int64(), phase: enumStr(["Failed", "Pending", "Running", "Succeeded", "Unknown"], "The phase of a Pod is a simple, high-level summary of where the Pod is in its lifecycle."),
  podIP: str(), podIPs: keyedArr(obj({ ip: str() }), "ip"), qosClass: str(), reason: str(), resize: str(), resourceClaimStatuses: arr(anyObj()), startTime: time(),
});
d[`${CORE}.PodTemplateSpec`] = obj({ metadata: objectMeta(), spec: ref(`${CORE}.PodSpec`, "Specification of the desired behavior of the pod.") }, { description: "PodTemplateSpec describes the data a pod should have when created from a template" });

d[`${CORE}.Pod`] = kind("", "v1", "Pod", "Pod is a collection of containers that can run on a host. This resource is created by clients and scheduled onto hosts.", {
  spec: ref(`${CORE}.PodSpec`, "Specification of the desired behavior of the pod."),
  status: ref(`${CORE}.PodStatus`, "Most recently observed status of the pod."),
});
d[`${CORE}.Namespace`] = kind("", "v1", "Namespace", "Namespace provides a scope for Names. Use of multiple namespaces is optional.", {
  spec: obj({ finalizers: arr(str()) }), status: obj({ conditions: conditions("io.k8s.api.core.v1.NamespaceCondition"), phase: enumStr(["Active", "Terminating"]) }),
});
d[`${CORE}.NodeAddress`] = obj({ address: str(), type: str() }, { required: ["type", "address"] });
d[`${CORE}.Node`] = kind("", "v1", "Node", "Node is a worker node in Kubernetes. Each node will have a unique identifier in the cache (i.e. in etcd).", {
  spec: obj({ configSource: anyObj(), externalID: str(), podCIDR: str(), podCIDRs: setArr(str()), providerID: str(), taints: arr(ref(`${CORE}.Taint`)), unschedulable: bool() }),
  status: obj({
    addresses: keyedArr(ref(`${CORE}.NodeAddress`), "type", ["type"]), allocatable: resourceList(), capacity: resourceList(),
    conditions: conditions("io.k8s.api.core.v1.NodeCondition"), config: anyObj(), daemonEndpoints: anyObj(), features: anyObj(), images: arr(obj({ names: arr(str()), sizeBytes: int64() })),
    nodeInfo: obj({
      architecture: str(), bootID: str(), containerRuntimeVersion: str(), kernelVersion: str(), kubeProxyVersion: str(), kubeletVersion: str(),
      machineID: str(), operatingSystem: str(), osImage: str(), swap: anyObj(), systemUUID: str(),
    }),
    phase: str(), runtimeHandlers: arr(anyObj()), volumesAttached: arr(anyObj()), volumesInUse: arr(str()),
  }),
});
d[`${CORE}.ServicePort`] = obj({ appProtocol: str(), name: str(), nodePort: int(), port: int("The port that will be exposed by this service."), protocol: enumStr(["SCTP", "TCP", "UDP"]), targetPort: intOrString() }, { required: ["port"] });
d[`${CORE}.Service`] = kind("", "v1", "Service", "Service is a named abstraction of software service (for example, mysql) consisting of local port that the proxy listens on, and the selector that determines which pods will answer requests sent through the proxy.", {
  spec: obj({
    allocateLoadBalancerNodePorts: bool(), clusterIP: str(), clusterIPs: arr(str()), externalIPs: arr(str()), externalName: str(), externalTrafficPolicy: str(),
    healthCheckNodePort: int(), internalTrafficPolicy: str(), ipFamilies: arr(str()), ipFamilyPolicy: str(), loadBalancerClass: str(), loadBalancerIP: str(),
    loadBalancerSourceRanges: arr(str()), ports: keyedArr(ref(`${CORE}.ServicePort`), "port", ["port", "protocol"], "The list of ports that are exposed by this service."),
    publishNotReadyAddresses: bool(), selector: strMap("Route service traffic to pods with label keys and values matching this selector."),
    sessionAffinity: enumStr(["ClientIP", "None"]), sessionAffinityConfig: anyObj(), trafficDistribution: str(),
    type: enumStr(["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]),
  }),
  status: obj({ conditions: conditions(`${META}.Condition`), loadBalancer: anyObj() }),
});
d[`${CORE}.ObjectReference`] = obj({ apiVersion: str(), fieldPath: str(), kind: str(), name: str(), namespace: str(), resourceVersion: str(), uid: str() });
d[`${CORE}.EndpointAddress`] = obj({ hostname: str(), ip: str(), nodeName: str(), targetRef: ref(`${CORE}.ObjectReference`) }, { required: ["ip"] });
d[`${CORE}.Endpoints`] = kind("", "v1", "Endpoints", "Endpoints is a collection of endpoints that implement the actual service.", {
  subsets: arr(obj({
    addresses: arr(ref(`${CORE}.EndpointAddress`)), notReadyAddresses: arr(ref(`${CORE}.EndpointAddress`)),
    ports: arr(obj({ appProtocol: str(), name: str(), port: int(), protocol: str() }, { required: ["port"] })),
  })),
});
d[`${CORE}.ConfigMap`] = kind("", "v1", "ConfigMap", "ConfigMap holds configuration data for pods to consume.", {
  binaryData: mapOf({ type: "string", format: "byte" }), data: strMap("Data contains the configuration data."), immutable: bool(),
});
d[`${CORE}.Secret`] = kind("", "v1", "Secret", "Secret holds secret data of a certain type.", {
  data: mapOf({ type: "string", format: "byte" }, "Data contains the secret data, base64 encoded."), immutable: bool(), stringData: strMap(), type: str(),
});
d[`${CORE}.EventSource`] = obj({ component: str(), host: str() });
d[`${CORE}.Event`] = kind("", "v1", "Event", "Event is a report of an event somewhere in the cluster.", {
  action: str(), count: int(), eventTime: ref(`${META}.MicroTime`), firstTimestamp: time(), involvedObject: ref(`${CORE}.ObjectReference`), lastTimestamp: time(),
  message: str(), reason: str(), related: ref(`${CORE}.ObjectReference`), reportingComponent: str(), reportingInstance: str(), series: anyObj(),
  source: ref(`${CORE}.EventSource`), type: str(),
}, ["metadata", "involvedObject"]);
d[`${CORE}.ServiceAccount`] = kind("", "v1", "ServiceAccount", "ServiceAccount binds together a name, a principal that can be authenticated, and a set of secrets.", {
  automountServiceAccountToken: bool(), imagePullSecrets: arr(obj({ name: str() })), secrets: keyedArr(ref(`${CORE}.ObjectReference`), "name"),
});

// --- apps/v1 ---
const APPS = "io.k8s.api.apps.v1";
const selector = () => ref(`${META}.LabelSelector`, "Label selector for pods. It must match the pod template's labels.");
const template = () => ref(`${CORE}.PodTemplateSpec`, "Template describes the pods that will be created.");
d[`${APPS}.Deployment`] = kind("apps", "v1", "Deployment", "Deployment enables declarative updates for Pods and ReplicaSets.", {
  spec: obj({
    minReadySeconds: int(), paused: bool(), progressDeadlineSeconds: int(), replicas: int("Number of desired pods. Defaults to 1."), revisionHistoryLimit: int(),
    selector: selector(),
    strategy: { ...obj({ rollingUpdate: obj({ maxSurge: intOrString(), maxUnavailable: intOrString() }), type: enumStr(["Recreate", "RollingUpdate"]) }), "x-kubernetes-patch-strategy": "retainKeys" },
    template: template(),
  }, { required: ["selector", "template"], description: "Specification of the desired behavior of the Deployment." }),
  status: obj({
    availableReplicas: int(), collisionCount: int(), conditions: conditions("io.k8s.api.apps.v1.DeploymentCondition"), observedGeneration: int64(), readyReplicas: int(), replicas: int(),
    terminatingReplicas: int(), unavailableReplicas: int(), updatedReplicas: int(),
  }),
});
d[`${APPS}.ReplicaSet`] = kind("apps", "v1", "ReplicaSet", "ReplicaSet ensures that a specified number of pod replicas are running at any given time.", {
  spec: obj({ minReadySeconds: int(), replicas: int(), selector: selector(), template: template() }, { required: ["selector"] }),
  status: obj({ availableReplicas: int(), conditions: conditions("io.k8s.api.apps.v1.ReplicaSetCondition"), fullyLabeledReplicas: int(), observedGeneration: int64(), readyReplicas: int(), replicas: int(), terminatingReplicas: int() }, { required: ["replicas"] }),
});
d[`${APPS}.DaemonSet`] = kind("apps", "v1", "DaemonSet", "DaemonSet represents the configuration of a daemon set.", {
  spec: obj({
    minReadySeconds: int(), revisionHistoryLimit: int(), selector: selector(), template: template(),
    updateStrategy: obj({ rollingUpdate: obj({ maxSurge: intOrString(), maxUnavailable: intOrString() }), type: enumStr(["OnDelete", "RollingUpdate"]) }),
  }, { required: ["selector", "template"] }),
  status: obj({
    collisionCount: int(), conditions: conditions("io.k8s.api.apps.v1.DaemonSetCondition"), currentNumberScheduled: int(), desiredNumberScheduled: int(), numberAvailable: int(),
    numberMisscheduled: int(), numberReady: int(), numberUnavailable: int(), observedGeneration: int64(), updatedNumberScheduled: int(),
  }),
});
d[`${APPS}.StatefulSet`] = kind("apps", "v1", "StatefulSet", "StatefulSet represents a set of pods with consistent identities.", {
  spec: obj({
    minReadySeconds: int(), ordinals: obj({ start: int() }), persistentVolumeClaimRetentionPolicy: obj({ whenDeleted: str(), whenScaled: str() }),
    podManagementPolicy: enumStr(["OrderedReady", "Parallel"]), replicas: int(), revisionHistoryLimit: int(), selector: selector(), serviceName: str(), template: template(),
    updateStrategy: obj({ rollingUpdate: obj({ maxUnavailable: intOrString(), partition: int() }), type: enumStr(["OnDelete", "RollingUpdate"]) }),
    volumeClaimTemplates: arr(anyObj()),
  }, { required: ["selector", "template"] }),
  status: obj({
    availableReplicas: int(), collisionCount: int(), conditions: conditions("io.k8s.api.apps.v1.StatefulSetCondition"), currentReplicas: int(), currentRevision: str(), observedGeneration: int64(),
    readyReplicas: int(), replicas: int(), updateRevision: str(), updatedReplicas: int(),
  }),
});

// --- batch/v1 ---
const BATCH = "io.k8s.api.batch.v1";
d[`${BATCH}.JobSpec`] = obj({
  activeDeadlineSeconds: int64(), backoffLimit: int(), backoffLimitPerIndex: int(), completionMode: enumStr(["Indexed", "NonIndexed"]), completions: int(),
  managedBy: str(), manualSelector: bool(), maxFailedIndexes: int(), parallelism: int(), podFailurePolicy: anyObj(), podReplacementPolicy: str(),
  selector: ref(`${META}.LabelSelector`), successPolicy: anyObj(), suspend: bool(), template: template(), ttlSecondsAfterFinished: int(),
}, { required: ["template"] });
d[`${BATCH}.Job`] = kind("batch", "v1", "Job", "Job represents the configuration of a single job.", {
  spec: ref(`${BATCH}.JobSpec`),
  status: obj({
    active: int(), completedIndexes: str(), completionTime: time(), conditions: conditions("io.k8s.api.batch.v1.JobCondition"), failed: int(), failedIndexes: str(), ready: int(),
    startTime: time(), succeeded: int(), terminating: int(), uncountedTerminatedPods: obj({ failed: setArr(str()), succeeded: setArr(str()) }),
  }),
});
d[`${BATCH}.CronJob`] = kind("batch", "v1", "CronJob", "CronJob represents the configuration of a single cron job.", {
  spec: obj({
    concurrencyPolicy: enumStr(["Allow", "Forbid", "Replace"]), failedJobsHistoryLimit: int(), jobTemplate: obj({ metadata: objectMeta(), spec: ref(`${BATCH}.JobSpec`) }),
    schedule: str("The schedule in Cron format."), startingDeadlineSeconds: int64(), successfulJobsHistoryLimit: int(), suspend: bool(), timeZone: str(),
  }, { required: ["schedule", "jobTemplate"] }),
  status: obj({ active: arr(ref(`${CORE}.ObjectReference`)), lastScheduleTime: time(), lastSuccessfulTime: time() }),
});

// --- coordination, discovery, autoscaling, apiextensions ---
d["io.k8s.api.coordination.v1.Lease"] = kind("coordination.k8s.io", "v1", "Lease", "Lease defines a lease concept.", {
  spec: obj({ acquireTime: ref(`${META}.MicroTime`), holderIdentity: str(), leaseDurationSeconds: int(), leaseTransitions: int(), preferredHolder: str(), renewTime: ref(`${META}.MicroTime`), strategy: str() }),
});
d["io.k8s.api.discovery.v1.EndpointSlice"] = kind("discovery.k8s.io", "v1", "EndpointSlice", "EndpointSlice represents a subset of the endpoints that implement a service.", {
  addressType: enumStr(["FQDN", "IPv4", "IPv6"]),
  endpoints: arr(obj({
    addresses: setArr(str()), conditions: obj({ ready: bool(), serving: bool(), terminating: bool() }), deprecatedTopology: strMap(), hints: anyObj(), hostname: str(),
    nodeName: str(), targetRef: ref(`${CORE}.ObjectReference`), zone: str(),
  }, { required: ["addresses"] })),
  ports: arr(obj({ appProtocol: str(), name: str(), port: int(), protocol: str() })),
}, ["addressType", "endpoints"]);
d["io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler"] = kind("autoscaling", "v2", "HorizontalPodAutoscaler", "HorizontalPodAutoscaler is the configuration for a horizontal pod autoscaler.", {
  spec: obj({
    behavior: anyObj(), maxReplicas: int(), metrics: arr(anyObj()), minReplicas: int(),
    scaleTargetRef: obj({ apiVersion: str(), kind: str(), name: str() }, { required: ["kind", "name"] }),
  }, { required: ["scaleTargetRef", "maxReplicas"] }),
  status: obj({ conditions: conditions("io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerCondition"), currentMetrics: arr(anyObj()), currentReplicas: int(), desiredReplicas: int(), lastScaleTime: time(), observedGeneration: int64() }),
});
d["io.k8s.api.autoscaling.v1.Scale"] = kind("autoscaling", "v1", "Scale", "Scale represents a scaling request for a resource.", {
  spec: obj({ replicas: int() }), status: obj({ replicas: int(), selector: str() }, { required: ["replicas"] }),
});
const APIEXT = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1";
d[`${APIEXT}.CustomResourceDefinition`] = kind("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "CustomResourceDefinition represents a resource that should be exposed on the API server.", {
  spec: obj({
    conversion: anyObj(), group: str(),
    names: obj({ categories: arr(str()), kind: str(), listKind: str(), plural: str(), shortNames: arr(str()), singular: str() }, { required: ["plural", "kind"] }),
    preserveUnknownFields: bool(), scope: str(),
    versions: arr(obj({
      additionalPrinterColumns: arr(obj({ description: str(), format: str(), jsonPath: str(), name: str(), priority: int(), type: str() }, { required: ["name", "type", "jsonPath"] })),
      deprecated: bool(), deprecationWarning: str(), name: str(), schema: obj({ openAPIV3Schema: anyObj() }), selectableFields: arr(anyObj()), served: bool(), storage: bool(),
      subresources: obj({ scale: anyObj(), status: anyObj() }),
    }, { required: ["name", "served", "storage"] })),
  }, { required: ["group", "names", "scope", "versions"] }),
  status: obj({ acceptedNames: anyObj(), conditions: conditions("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionCondition"), storedVersions: arr(str()) }),
}, ["spec"]);

Object.assign(d, rbacDefinitions);
Object.assign(d, policyDefinitions);
Object.assign(d, schedulingDefinitions);

// Lists for every kind above.
for (const [name, s] of Object.entries({ ...d })) {
  const g = (s["x-kubernetes-group-version-kind"] as { group: string; version: string; kind: string }[] | undefined)?.[0];
  if (!g || g.kind === "Status" || g.kind === "Scale") continue;
  d[`${name}List`] = list(g.group, g.version, g.kind, name);
}

export const definitions: Readonly<Record<string, Schema>> = d;

/** The definition name of a built-in kind, e.g. ("apps","v1","Deployment") → io.k8s.api.apps.v1.Deployment. */
export function definitionFor(group: string, version: string, kind: string): string | undefined {
  for (const [name, s] of Object.entries(d)) {
    const g = (s["x-kubernetes-group-version-kind"] as { group: string; version: string; kind: string }[] | undefined)?.[0];
    if (g && g.group === group && g.version === version && g.kind === kind) return name;
  }
  return undefined;
}

/** Resolves a $ref / allOf-wrapped schema to the schema it names. */
export type { Schema };
export function resolve(s: Schema | undefined, defs: Readonly<Record<string, Schema>> = d): Schema | undefined {
  let cur = s;
  for (let i = 0; cur && i < 10; i++) {
    if (cur.$ref) cur = defs[cur.$ref.replace(/^#\/(components\/schemas|definitions)\//, "")];
    else if (cur.allOf && cur.allOf.length === 1 && !cur.type) cur = cur.allOf[0];
    else return cur;
  }
  return cur;
}
