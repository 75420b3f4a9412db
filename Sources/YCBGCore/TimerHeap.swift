/// Something kept in a TimerHeap: when it is due, and where it sits.
protocol TimerItem: AnyObject {
    var dueMs: Int64 { get }
    /// Its index in the heap that holds it; -1 when in none.
    var heapIndex: Int { get set }
}

/// A binary min-heap of items ordered by due time, with removal and
/// re-ordering of any item in O(log n) (items know their index).
struct TimerHeap<Item: TimerItem> {
    private var items: [Item] = []

    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }
    var first: Item? { items.first }

    mutating func insert(_ item: Item) {
        item.heapIndex = items.count
        items.append(item)
        siftUp(items.count - 1)
    }

    /// Removes and returns the earliest item.
    mutating func popFirst() -> Item? {
        guard let top = items.first else { return nil }
        remove(top)
        return top
    }

    mutating func remove(_ item: Item) {
        let i = item.heapIndex
        guard i >= 0, i < items.count, items[i] === item else { return }
        let last = items.count - 1
        if i != last {
            items.swapAt(i, last)
            items[i].heapIndex = i
        }
        items.removeLast()
        item.heapIndex = -1
        if i < items.count {
            siftDown(i)
            siftUp(i)
        }
    }

    /// Restores the order after `item.dueMs` changed.
    mutating func update(_ item: Item) {
        let i = item.heapIndex
        guard i >= 0, i < items.count, items[i] === item else { return }
        siftDown(i)
        siftUp(i)
    }

    func contains(_ item: Item) -> Bool {
        let i = item.heapIndex
        return i >= 0 && i < items.count && items[i] === item
    }

    mutating func removeAll() -> [Item] {
        let all = items
        all.forEach { $0.heapIndex = -1 }
        items = []
        return all
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].dueMs < items[parent].dueMs else { break }
            swap(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < items.count && items[l].dueMs < items[m].dueMs { m = l }
            if r < items.count && items[r].dueMs < items[m].dueMs { m = r }
            guard m != i else { return }
            swap(i, m)
            i = m
        }
    }

    private mutating func swap(_ a: Int, _ b: Int) {
        items.swapAt(a, b)
        items[a].heapIndex = a
        items[b].heapIndex = b
    }
}
