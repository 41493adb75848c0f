//! The CustomResourceDefinitions a server serves, and the Tanzu Application Platform set.

/// A CustomResourceDefinition to serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crd {
    pub group: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    /// Served versions; the first is the storage version. As in a real server, discovery
    /// prefers the highest version by Kubernetes version priority (v1 > v1beta2 > v1alpha1).
    pub versions: Vec<String>,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
}

impl Crd {
    /// A namespaced CRD whose singular is the lower-cased kind.
    pub fn new(group: &str, versions: &[&str], kind: &str, plural: &str) -> Crd {
        Crd {
            group: group.into(),
            kind: kind.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            namespaced: true,
            versions: versions.iter().map(|v| v.to_string()).collect(),
            short_names: vec![],
            categories: vec![],
        }
    }

    pub fn cluster_scoped(mut self) -> Crd {
        self.namespaced = false;
        self
    }

    pub fn short_names(mut self, names: &[&str]) -> Crd {
        self.short_names = names.iter().map(|s| s.to_string()).collect();
        self
    }

    pub fn categories(mut self, cats: &[&str]) -> Crd {
        self.categories = cats.iter().map(|s| s.to_string()).collect();
        self
    }

    /// `plural.group`, the CRD's object name.
    pub fn name(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }
}

/// The Tanzu Application Platform CRDs the plugin knows about.
pub fn tap_crds() -> Vec<Crd> {
    let tekton = ["tekton", "tekton-pipelines"];
    let knative = ["all", "knative", "serving"];
    vec![
        Crd::new("carto.run", &["v1alpha1"], "Workload", "workloads"),
        Crd::new("carto.run", &["v1alpha1"], "Deliverable", "deliverables"),
        Crd::new("kpack.io", &["v1alpha2", "v1alpha1"], "Image", "images")
            .short_names(&["cnbimage", "cnbimages"])
            .categories(&["kpack"]),
        Crd::new("kpack.io", &["v1alpha2", "v1alpha1"], "Build", "builds")
            .short_names(&["cnbbuild", "cnbbuilds", "bld", "blds"])
            .categories(&["kpack"]),
        Crd::new("tekton.dev", &["v1", "v1beta1"], "TaskRun", "taskruns")
            .short_names(&["tr", "trs"])
            .categories(&tekton),
        Crd::new(
            "tekton.dev",
            &["v1", "v1beta1"],
            "PipelineRun",
            "pipelineruns",
        )
        .short_names(&["pr", "prs"])
        .categories(&tekton),
        Crd::new("serving.knative.dev", &["v1"], "Service", "services")
            .short_names(&["kservice", "ksvc"])
            .categories(&knative),
        Crd::new("serving.knative.dev", &["v1"], "Revision", "revisions")
            .short_names(&["rev"])
            .categories(&knative),
        Crd::new(
            "source.toolkit.fluxcd.io",
            &["v1", "v1beta2"],
            "GitRepository",
            "gitrepositories",
        )
        .short_names(&["gitrepo"]),
        Crd::new(
            "packaging.carvel.dev",
            &["v1alpha1"],
            "PackageInstall",
            "packageinstalls",
        )
        .short_names(&["pkgi"])
        .categories(&["carvel"]),
        Crd::new(
            "packaging.carvel.dev",
            &["v1alpha1"],
            "PackageRepository",
            "packagerepositories",
        )
        .short_names(&["pkgr"])
        .categories(&["carvel"]),
        Crd::new("kappctrl.k14s.io", &["v1alpha1"], "App", "apps").categories(&["carvel"]),
        Crd::new(
            "scanning.apps.tanzu.vmware.com",
            &["v1beta1"],
            "SourceScan",
            "sourcescans",
        ),
        Crd::new(
            "scanning.apps.tanzu.vmware.com",
            &["v1beta1"],
            "ImageScan",
            "imagescans",
        ),
        Crd::new(
            "servicebinding.io",
            &["v1", "v1beta1"],
            "ServiceBinding",
            "servicebindings",
        ),
        Crd::new(
            "services.apps.tanzu.vmware.com",
            &["v1alpha1"],
            "ClusterInstanceClass",
            "clusterinstanceclasses",
        )
        .cluster_scoped(),
        Crd::new(
            "services.apps.tanzu.vmware.com",
            &["v1alpha1"],
            "ClassClaim",
            "classclaims",
        ),
        Crd::new(
            "services.apps.tanzu.vmware.com",
            &["v1alpha1"],
            "ResourceClaim",
            "resourceclaims",
        ),
        Crd::new(
            "apis.apps.tanzu.vmware.com",
            &["v1alpha1"],
            "APIDescriptor",
            "apidescriptors",
        ),
        Crd::new(
            "accelerator.apps.tanzu.vmware.com",
            &["v1alpha1"],
            "Accelerator",
            "accelerators",
        ),
        Crd::new(
            "accelerator.apps.tanzu.vmware.com",
            &["v1alpha1"],
            "Fragment",
            "fragments",
        ),
    ]
}
