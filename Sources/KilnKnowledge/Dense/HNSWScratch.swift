// The per-thread working memory of a graph walk: a visited mark per node (an epoch tag, so that a new walk clears
// nothing) and the two heaps of the best-first search, all preallocated so that a query allocates nothing; and the
// hand-out of work to threads that each own one.
import KilnKernels
import KilnTensor

/// A node and its distance to the query.
struct HNSWNeighbor {
    var distance: Float
    var id: Int32
}

/// A binary max-heap of neighbours by distance over a growable buffer.
struct NeighborHeap {
    var items: UnsafeMutablePointer<HNSWNeighbor>
    var count = 0
    var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        items = .allocate(capacity: self.capacity)
    }

    func free() { items.deallocate() }

    /// The farthest neighbour held.
    @inline(__always) var top: HNSWNeighbor { items[0] }

    mutating func push(_ distance: Float, _ id: Int32) {
        if count == capacity {
            let grown = UnsafeMutablePointer<HNSWNeighbor>.allocate(capacity: capacity * 2)
            grown.update(from: items, count: count)
            items.deallocate()
            items = grown
            capacity *= 2
        }
        var child = count
        count += 1
        while child > 0 {
            let parent = (child - 1) >> 1
            guard items[parent].distance < distance else { break }
            items[child] = items[parent]
            child = parent
        }
        items[child] = HNSWNeighbor(distance: distance, id: id)
    }

    @discardableResult mutating func pop() -> HNSWNeighbor {
        let top = items[0]
        count -= 1
        guard count > 0 else { return top }
        let last = items[count]
        var parent = 0
        while true {
            var child = 2 * parent + 1
            guard child < count else { break }
            if child + 1 < count && items[child + 1].distance > items[child].distance { child += 1 }
            guard items[child].distance > last.distance else { break }
            items[parent] = items[child]
            parent = child
        }
        items[parent] = last
        return top
    }

    /// Empties the heap into an array sorted nearest first.
    mutating func drainAscending() -> [HNSWNeighbor] {
        var out = [HNSWNeighbor](repeating: HNSWNeighbor(distance: 0, id: 0), count: count)
        var index = count - 1
        while count > 0 {
            out[index] = pop()
            index -= 1
        }
        return out
    }
}

/// One thread's search state, sized for an index of `nodes` nodes.
final class HNSWScratch {
    var visited: UnsafeMutablePointer<UInt16>
    var nodes: Int
    var tag: UInt16 = 0
    var top: NeighborHeap
    /// Candidates to expand, nearest first: stored with negated distances in a max-heap.
    var candidates: NeighborHeap
    /// A copy of a neighbour list taken under its lock while another thread may rewrite it.
    var list: UnsafeMutablePointer<Int32>
    /// The unvisited neighbours of one expansion and their inner products with the query.
    var pending: UnsafeMutablePointer<Int32>
    var dots: UnsafeMutablePointer<Float>

    init(nodes: Int, ef: Int, listLength: Int) {
        self.nodes = max(nodes, 1)
        visited = .allocate(capacity: self.nodes)
        visited.initialize(repeating: 0, count: self.nodes)
        top = NeighborHeap(capacity: ef + 1)
        candidates = NeighborHeap(capacity: ef * 4)
        list = .allocate(capacity: listLength)
        pending = .allocate(capacity: listLength)
        dots = .allocate(capacity: listLength)
    }

    deinit {
        visited.deallocate()
        top.free()
        candidates.free()
        list.deallocate()
        pending.deallocate()
        dots.deallocate()
    }

    /// A fresh visit tag; the marks are cleared only when the 16-bit tag wraps.
    func nextTag() -> UInt16 {
        tag &+= 1
        if tag == 0 {
            visited.update(repeating: 0, count: nodes)
            tag = 1
        }
        return tag
    }
}

extension HNSWScratch {
    /// Runs `body` for every index in `range` on `threads` threads (one when fewer are asked for), each with its own
    /// scratch for `nodes` nodes. Indices are handed out one at a time, not in fixed shares: inserts and queries differ
    /// in cost, and a thread that finished its share early would sit idle.
    static func eachOneAtATime(_ range: Range<Int>, threads: Int, nodes: Int, ef: Int, listLength: Int,
                               _ body: (Int, HNSWScratch) -> Void) {
        guard !range.isEmpty else { return }
        let next = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        next.initialize(to: range.lowerBound)
        defer { next.deallocate() }
        Parallel.rows(max(1, threads)) { _ in
            let scratch = HNSWScratch(nodes: nodes, ef: ef, listLength: listLength)
            while true {
                let index = kiln_fetch_add(next, 1)
                guard index < range.upperBound else { break }
                body(index, scratch)
            }
        }
    }
}
