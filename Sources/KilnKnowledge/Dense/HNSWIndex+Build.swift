// Inserting into the graph, on every core at once as hnswlib does: each node's list has its own spin lock, taken to
// read a list another thread may be rewriting and to rewrite it; a node that raises the top level holds the graph
// lock for its whole insert, so the entry point never names a half-linked node.
import Foundation
import KilnKernels
import KilnTensor

extension HNSWIndex {
    /// Inserts `labels.count` vectors laid end to end in `vectors`; a label already present is replaced.
    public func add(labels newLabels: [Int64], vectors flat: [Float]) throws(HNSWError) {
        guard flat.count == newLabels.count * dimension else {
            throw .dimensionMismatch(expected: dimension, got: newLabels.isEmpty ? flat.count : flat.count / newLabels.count)
        }
        for (row, label) in newLabels.enumerated() {
            for value in flat[(row * dimension)..<((row + 1) * dimension)] where !value.isFinite { throw .notFinite(label: label) }
        }
        guard !newLabels.isEmpty else { return }
        remove(newLabels)
        let first = count
        reserve(count + newLabels.count)
        flat.withUnsafeBufferPointer { source in
            (vectors + first * dimension).update(from: source.baseAddress!, count: flat.count)
        }
        for (offset, label) in newLabels.enumerated() {
            let slot = first + offset
            let level = drawLevel()
            labels[slot] = label
            levels[slot] = level
            removed[slot] = 0
            links0[slot * (maxM0 + 1)] = 0
            upperOffsets[slot] = Int64(upperCount)
            let upper = Int(level) * (maxM + 1)
            reserveUpper(upperCount + upper)
            for layer in 0..<Int(level) { upperPool[upperCount + layer * (maxM + 1)] = 0 }
            upperCount += upper
            slotOfLabel[label] = Int32(slot)
        }
        count = first + newLabels.count
        var next = first
        if entry < 0 {
            entry = Int32(first)
            maxLevel = levels[first]
            next += 1
        }
        let pending = count - next
        guard pending > 0 else { return }
        HNSWScratch.eachOneAtATime(next..<count, threads: pending >= 256 ? Parallel.cores : 1, nodes: count,
                                   ef: parameters.efConstruction, listLength: maxM0 + 1) { slot, scratch in
            insert(Int32(slot), scratch: scratch)
        }
    }

    /// Links one stored node into the graph.
    func insert(_ slot: Int32, scratch: HNSWScratch) {
        let level = levels[Int(slot)]
        kiln_spin_lock(globalLock)
        let topLevel = maxLevel
        var nearest = entry
        let raisesTop = level > topLevel
        if !raisesTop { kiln_spin_unlock(globalLock) }
        let query = UnsafePointer(vector(at: slot))
        var nearestDistance = distance(query, vector(at: nearest))
        if level < topLevel {
            for layer in stride(from: Int(topLevel), to: Int(level), by: -1) {
                (nearest, nearestDistance) = greedy(query, from: nearest, distance: nearestDistance, layer: layer, locking: true)
            }
        }
        // Every layer is searched first and linked after, base layer first: a node reachable on an upper layer then
        // always has its base-layer list, so a search entering through it never finds it empty (and another insert
        // never links into a list this insert would then overwrite).
        var chosen: [(layer: Int, neighbors: [HNSWNeighbor])] = []
        for layer in stride(from: Int(min(level, topLevel)), through: 0, by: -1) {
            searchLayer(query, entry: nearest, entryDistance: nearestDistance, ef: parameters.efConstruction, layer: layer,
                        scratch: scratch, locking: true, skipRemoved: false)
            var found = scratch.top.drainAscending()
            selectNeighbors(&found, limit: maxM)
            chosen.append((layer, found))
            nearest = found[0].id
            nearestDistance = found[0].distance
        }
        for (layer, neighbors) in chosen.reversed() { connect(slot, to: neighbors, layer: layer) }
        if raisesTop {
            entry = slot
            maxLevel = level
            kiln_spin_unlock(globalLock)
        }
    }

    /// Walks to ever nearer neighbours on one upper layer until none is nearer.
    func greedy(_ query: UnsafePointer<Float>, from start: Int32, distance startDistance: Float, layer: Int,
                locking: Bool) -> (Int32, Float) {
        var current = start, best = startDistance
        var changed = true
        while changed {
            changed = false
            let held = current
            if locking { kiln_spin_lock(locks + Int(held)) }
            let list = links(held, layer)
            let n = Int(list[0])
            for j in 0..<n {
                let candidate = list[1 + j]
                let d = distance(query, vector(at: candidate))
                if d < best {
                    best = d
                    current = candidate
                    changed = true
                }
            }
            if locking { kiln_spin_unlock(locks + Int(held)) }
        }
        return (current, best)
    }

    /// Best-first search of one layer from `entry`, leaving the `ef` nearest found in `scratch.top`.
    func searchLayer(_ query: UnsafePointer<Float>, entry start: Int32, entryDistance: Float, ef: Int, layer: Int,
                     scratch: HNSWScratch, locking: Bool, skipRemoved: Bool) {
        // The hot loop works on locals: class properties would cost a dynamic exclusivity check on every access.
        let tag = scratch.nextTag()
        let visited = scratch.visited, copy = scratch.list, pending = scratch.pending, dots = scratch.dots
        let locks = self.locks, removed = self.removed
        let vectors = self.vectors, dimension = self.dimension
        var top = scratch.top, candidates = scratch.candidates
        defer {
            scratch.top = top
            scratch.candidates = candidates
        }
        top.count = 0
        candidates.count = 0
        visited[Int(start)] = tag
        var lowerBound = Float.infinity
        if !(skipRemoved && removed[Int(start)] != 0) {
            top.push(entryDistance, start)
            lowerBound = entryDistance
        }
        candidates.push(-entryDistance, start)
        let anyRemoved = skipRemoved && removedCount > 0
        while candidates.count > 0 {
            let current = candidates.pop()
            if -current.distance > lowerBound && (top.count == ef || !anyRemoved) { break }
            var list = links(current.id, layer)
            if locking {
                kiln_spin_lock(locks + Int(current.id))
                copy.update(from: list, count: Int(list[0]) + 1)
                kiln_spin_unlock(locks + Int(current.id))
                list = copy
            }
            let n = Int(list[0])
            guard n > 0 else { continue }
            // The unvisited neighbours first, then all their products in one kernel call, then the heaps.
            var fresh = 0
            for j in 1...n {
                let id = list[j]
                guard visited[Int(id)] != tag else { continue }
                visited[Int(id)] = tag
                pending[fresh] = id
                fresh += 1
            }
            guard fresh > 0 else { continue }
            Self.gatherDots(query, vectors, pending, fresh, dimension, into: dots)
            for k in 0..<fresh {
                let id = pending[k], d = -dots[k]
                if top.count < ef || d < lowerBound {
                    candidates.push(-d, id)
                    if !(skipRemoved && removed[Int(id)] != 0) {
                        top.push(d, id)
                        if top.count > ef { top.pop() }
                    }
                    if top.count > 0 { lowerBound = top.top.distance }
                }
            }
            // The next expansion's list is a cache miss: start it while the heap bookkeeping above retires.
            if candidates.count > 0 { kiln_prefetch(links(candidates.top.id, layer)) }
        }
    }

    /// Keeps at most `limit` of `sorted` (nearest first), dropping a candidate nearer to one already kept than to
    /// the query: the heuristic that keeps links pointing in different directions.
    func selectNeighbors(_ sorted: inout [HNSWNeighbor], limit: Int) {
        guard sorted.count > limit else { return }
        var kept: [HNSWNeighbor] = []
        kept.reserveCapacity(limit)
        for candidate in sorted {
            guard kept.count < limit else { break }
            let point = UnsafePointer(vector(at: candidate.id))
            var good = true
            for chosen in kept where distance(point, vector(at: chosen.id)) < candidate.distance {
                good = false
                break
            }
            if good { kept.append(candidate) }
        }
        sorted = kept
    }

    /// Gives `slot` the chosen neighbours on `layer` and adds it to theirs, pruning a full list by the heuristic.
    func connect(_ slot: Int32, to chosen: [HNSWNeighbor], layer: Int) {
        let limit = layer == 0 ? maxM0 : maxM
        kiln_spin_lock(locks + Int(slot))
        let own = links(slot, layer)
        own[0] = Int32(chosen.count)
        for (j, neighbor) in chosen.enumerated() { own[1 + j] = neighbor.id }
        kiln_spin_unlock(locks + Int(slot))
        let point = UnsafePointer(vector(at: slot))
        for neighbor in chosen {
            kiln_spin_lock(locks + Int(neighbor.id))
            let list = links(neighbor.id, layer)
            let n = Int(list[0])
            if n < limit {
                list[1 + n] = slot
                list[0] = Int32(n + 1)
            } else {
                let base = UnsafePointer(vector(at: neighbor.id))
                var pool = [HNSWNeighbor(distance: distance(base, point), id: slot)]
                for j in 1...n { pool.append(HNSWNeighbor(distance: distance(base, vector(at: list[j])), id: list[j])) }
                pool.sort { $0.distance < $1.distance }
                selectNeighbors(&pool, limit: limit)
                list[0] = Int32(pool.count)
                for (j, kept) in pool.enumerated() { list[1 + j] = kept.id }
            }
            kiln_spin_unlock(locks + Int(neighbor.id))
        }
    }
}
