// Times every request for `NodeMetrics`, labelled by the route pattern the router matched (never the raw path, whose
// ids would make a series per object).
import Foundation
import Hummingbird

/// Records each request's method, route, status and latency.
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = KilnContext

    func handle(_ request: Request, context: KilnContext, next: (Request, KilnContext) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        var status = 500
        defer {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            NodeMetrics.shared.request(method: request.method.rawValue, route: context.endpointPath ?? "unmatched", status: status, seconds: seconds)
        }
        do {
            let response = try await next(request, context)
            status = response.status.code
            return response
        } catch let error as HTTPResponseError {
            status = error.status.code
            throw error
        }
    }
}
