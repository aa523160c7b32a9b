// The process's open-file limit, raised at start so the connection cap, not the kernel's default of 1024, bounds a node.
import Foundation

/// Raises RLIMIT_NOFILE's soft limit toward its hard limit.
enum FileDescriptors {
    /// Raises the soft limit to at least `count` (never above the hard limit); does nothing when it is already enough.
    static func raiseLimit(toAtLeast count: Int) {
        var limit = rlimit()
        #if os(Linux)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0 else { return }
        let wanted = rlim_t(max(0, count))
        guard limit.rlim_cur < wanted else { return }
        limit.rlim_cur = min(wanted, limit.rlim_max)
        _ = setrlimit(resource, &limit)
    }
}
