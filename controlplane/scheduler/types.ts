// The subset of core/v1 Pod and Node that the scheduler reads, as structural interfaces.
// They are deliberately loose (every field optional, readonly) so that the real core/v1
// objects of api/ satisfy them once that package exists, and so that tests and the simulator
// can build small literal objects. The scheduler never mutates these objects.

export type QuantityLike = string | number;
export type ResourceListLike = Readonly<Record<string, QuantityLike | undefined>>;
export type LabelsLike = Readonly<Record<string, string>>;

export interface OwnerReferenceLike {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly name?: string;
  readonly uid?: string;
  readonly controller?: boolean;
}

export interface ObjectMetaLike {
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly labels?: LabelsLike;
  readonly ownerReferences?: readonly OwnerReferenceLike[];
}

export interface LabelSelectorRequirementLike {
  readonly key: string;
  readonly operator: string; // In | NotIn | Exists | DoesNotExist
  readonly values?: readonly string[];
}

export interface LabelSelectorLike {
  readonly matchLabels?: LabelsLike;
  readonly matchExpressions?: readonly LabelSelectorRequirementLike[];
}

export interface NodeSelectorRequirementLike {
  readonly key: string;
  readonly operator: string; // In | NotIn | Exists | DoesNotExist | Gt | Lt
  readonly values?: readonly string[];
}

export interface NodeSelectorTermLike {
  readonly matchExpressions?: readonly NodeSelectorRequirementLike[];
  readonly matchFields?: readonly NodeSelectorRequirementLike[];
}

export interface PreferredSchedulingTermLike {
  readonly weight: number;
  readonly preference: NodeSelectorTermLike;
}

export interface PodAffinityTermLike {
  readonly labelSelector?: LabelSelectorLike;
  readonly namespaces?: readonly string[];
  readonly namespaceSelector?: LabelSelectorLike;
  readonly topologyKey: string;
}

export interface WeightedPodAffinityTermLike {
  readonly weight: number;
  readonly podAffinityTerm: PodAffinityTermLike;
}

export interface AffinityLike {
  readonly nodeAffinity?: {
    readonly requiredDuringSchedulingIgnoredDuringExecution?: { readonly nodeSelectorTerms: readonly NodeSelectorTermLike[] };
    readonly preferredDuringSchedulingIgnoredDuringExecution?: readonly PreferredSchedulingTermLike[];
  };
  readonly podAffinity?: {
    readonly requiredDuringSchedulingIgnoredDuringExecution?: readonly PodAffinityTermLike[];
    readonly preferredDuringSchedulingIgnoredDuringExecution?: readonly WeightedPodAffinityTermLike[];
  };
  readonly podAntiAffinity?: {
    readonly requiredDuringSchedulingIgnoredDuringExecution?: readonly PodAffinityTermLike[];
    readonly preferredDuringSchedulingIgnoredDuringExecution?: readonly WeightedPodAffinityTermLike[];
  };
}

export interface TolerationLike {
  readonly key?: string;
  readonly operator?: string; // Equal (default) | Exists
  readonly value?: string;
  readonly effect?: string; // NoSchedule | PreferNoSchedule | NoExecute | "" (all)
  readonly tolerationSeconds?: number;
}

export interface TaintLike {
  readonly key: string;
  readonly value?: string;
  readonly effect: string; // NoSchedule | PreferNoSchedule | NoExecute
}

export interface TopologySpreadConstraintLike {
  readonly maxSkew: number;
  readonly topologyKey: string;
  readonly whenUnsatisfiable: string; // DoNotSchedule | ScheduleAnyway
  readonly labelSelector?: LabelSelectorLike;
  readonly minDomains?: number;
}

export interface ContainerPortLike {
  readonly containerPort?: number;
  readonly hostPort?: number;
  readonly hostIP?: string;
  readonly protocol?: string;
}

export interface ContainerLike {
  readonly name?: string;
  readonly image?: string;
  readonly resources?: { readonly requests?: ResourceListLike; readonly limits?: ResourceListLike };
  readonly ports?: readonly ContainerPortLike[];
}

export interface PodSpecLike {
  readonly nodeName?: string;
  readonly nodeSelector?: LabelsLike;
  readonly affinity?: AffinityLike;
  readonly tolerations?: readonly TolerationLike[];
  readonly priority?: number;
  readonly priorityClassName?: string;
  readonly schedulerName?: string;
  readonly topologySpreadConstraints?: readonly TopologySpreadConstraintLike[];
  readonly containers?: readonly ContainerLike[];
  readonly initContainers?: readonly ContainerLike[];
  readonly overhead?: ResourceListLike;
  readonly preemptionPolicy?: string; // PreemptLowerPriority (default) | Never
}

export interface PodLike {
  readonly metadata?: ObjectMetaLike;
  readonly spec?: PodSpecLike;
  readonly status?: { readonly phase?: string; readonly nominatedNodeName?: string };
}

export interface ContainerImageLike {
  readonly names?: readonly string[];
  readonly sizeBytes?: number;
}

export interface NodeLike {
  readonly metadata?: ObjectMetaLike;
  readonly spec?: { readonly unschedulable?: boolean; readonly taints?: readonly TaintLike[] };
  readonly status?: {
    readonly allocatable?: ResourceListLike;
    readonly capacity?: ResourceListLike;
    readonly images?: readonly ContainerImageLike[];
  };
}

/** The workload objects whose selectors make a pod's default spreading selector (kube's DefaultSelector). */
export interface ServiceLike {
  readonly metadata?: ObjectMetaLike;
  readonly spec?: { readonly selector?: LabelsLike | null };
}

/** A ReplicaSet or StatefulSet (a LabelSelector) or a ReplicationController (a label map). */
export interface WorkloadLike {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: ObjectMetaLike;
  readonly spec?: { readonly selector?: LabelSelectorLike | LabelsLike | null };
}
